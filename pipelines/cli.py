"""The ``cockpit`` command line (SPEC §6). Exit codes: 0 published, 1 quality gate failed, 2 bad usage or input."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipelines.schema import REASONS
from pipelines.settings import configure_polars_allocator, get_settings

configure_polars_allocator()  # before anything imports Polars (the commands import it when they run)

app = typer.Typer(
    help="社区治理数字驾驶舱 — pipelines and warehouse", no_args_is_help=True, add_completion=False
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
if not console.is_terminal:  # a log file or CI: keep table rows and paths on one line
    console.width = 200


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"--as-of 需要 YYYY-MM-DD 格式的日期 (expected YYYY-MM-DD), got {value!r}"
        ) from None


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def summary_table(result) -> Table:
    t = Table(title=f"导入结果 run {result.run_id} (as of {result.as_of})", show_lines=False)
    for col, just in (
        ("文件 file", "left"),
        ("状态 status", "left"),
        ("读入 rows in", "right"),
        ("入库 loaded", "right"),
        ("隔离 quarantined", "right"),
        ("隔离原因 by reason", "left"),
    ):
        t.add_column(col, justify=just)
    for f in result.files:
        reasons = ", ".join(f"{r} {n}" for r, n in f.reasons.items())
        t.add_row(f.file, f.status, str(f.rows_in), str(f.loaded), str(f.quarantined), reasons)
    tot = [sum(getattr(f, k) for f in result.files) for k in ("rows_in", "loaded", "quarantined")]
    t.add_row("合计 total", "", *map(str, tot), "", style="bold")
    used = sorted({r for f in result.files for r in f.reasons})
    if used:
        t.caption = "  ".join(f"{r}={REASONS.get(r, r)}" for r in used)
    return t


def run_and_report(inbox: Path, as_of: date) -> None:
    from pipelines.ingest import InboxError, QualityGateFailed, run_ingest
    from warehouse.publish import WarehouseBusy

    settings = get_settings()
    result = None
    try:
        with _progress() as progress:
            result = run_ingest(inbox, settings, as_of=as_of, progress=progress)
    except InboxError as e:
        err.print("[red]输入无法导入，未发布 (input refused, nothing published):[/red]")
        err.print(str(e), markup=False, highlight=False)
        raise typer.Exit(2) from None
    except WarehouseBusy as e:
        err.print(str(e), style="red", markup=False)
        raise typer.Exit(2) from None
    except QualityGateFailed as e:
        err.print(f"[red]{e}[/red]")
        err.print(
            f"质量报告 (report): {settings.warehouse / 'gx/uncommitted/data_docs/local_site/index.html'}"
        )
        raise typer.Exit(1) from None
    console.print(summary_table(result))
    if result.missing_sources:
        console.print(
            f"[yellow]缺少数据源 (missing or empty sources): {', '.join(result.missing_sources)}[/yellow]"
        )
    if result.unrecognised:
        console.print(
            f"[yellow]未识别的文件，已忽略 (unrecognised files ignored): {', '.join(result.unrecognised)}[/yellow]"
        )
    for f in result.files:
        for w in f.warnings:
            console.print(f"[yellow]{f.file}: {w}[/yellow]")
    warn = [q for q in result.quality if not q["success"]]
    console.print(
        f"质量检查 (quality): {len(result.quality)} expectations, {len(warn)} warnings failed; "
        f"已发布 (published) version {result.version} in {result.seconds:.1f} s → {settings.warehouse / 'current.duckdb'}"
    )


@app.command()
def ingest(
    inbox: Annotated[
        Path | None, typer.Option(help="收件箱目录 (inbox folder, SPEC §2); default: settings")
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="仓库目录 (warehouse folder); default: settings")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="数据截止日期 YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Load an inbox into a new warehouse version; publish it if the critical quality checks pass."""
    if warehouse is not None:
        get_settings().warehouse = warehouse
    run_and_report(inbox or get_settings().inbox, _as_of(as_of))


@app.command()
def demo(
    scale: Annotated[
        str, typer.Option(help="street (~35k residents) | district (~1M) | tiny (tests)")
    ] = "street",
    inbox: Annotated[Path, typer.Option(help="where to write the demo inbox")] = Path("demo_inbox"),
    warehouse: Annotated[Path | None, typer.Option(help="仓库目录; default: settings")] = None,
    seed: Annotated[int, typer.Option(help="random seed (same seed → same files)")] = 20261121,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the demo data ends on this date (default: today)")
    ] = None,
    generate_only: Annotated[
        bool, typer.Option("--generate-only", help="write the inbox, do not ingest")
    ] = False,
) -> None:
    """Generate a realistic, messy demo inbox (deterministic) and ingest it."""
    from pipelines.demo import SCALES, generate

    if scale not in SCALES:
        raise typer.BadParameter(f"--scale must be one of {', '.join(SCALES)}")
    day = _as_of(as_of)
    with console.status(f"生成演示数据 (generating the {scale} demo inbox) …"):
        manifest = generate(inbox, scale, seed, day)
    console.print(
        f"演示收件箱 (demo inbox): {inbox} — {sum(manifest['rows'].values()):,} rows in {len(manifest['rows'])} files"
    )
    if warehouse is not None:
        get_settings().warehouse = warehouse
    if not generate_only:
        run_and_report(inbox, day)


@app.command()
def appraisal(
    quarter: Annotated[str, typer.Option(help="季度 YYYYQn, e.g. 2026Q3")],
    out: Annotated[Path, typer.Option(help="Excel 文件 (.xlsx) to write")],
    freeze: Annotated[
        bool, typer.Option("--freeze", help="冻结该季度：later publishes keep this ranking unchanged")
    ] = False,
    warehouse: Annotated[Path | None, typer.Option(help="仓库目录; default: settings")] = None,
) -> None:
    """Export a quarter's grid-worker appraisal (ranking, per-indicator breakdown, weights) to Excel."""
    from warehouse.appraisal import AppraisalError, export_xlsx, load_quarter
    from warehouse.appraisal import freeze as freeze_quarter

    root = warehouse or get_settings().warehouse
    if out.suffix.lower() != ".xlsx":
        err.print(f"[red]--out 须为 .xlsx 文件 (--out must end in .xlsx): {out}[/red]")
        raise typer.Exit(2)
    try:
        q = freeze_quarter(root, quarter, by="cli") if freeze else load_quarter(root, quarter)
    except AppraisalError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    export_xlsx(q, out)
    state = f"已冻结 frozen at {q.frozen_at}" if q.frozen else "未冻结 (not frozen)"
    console.print(
        f"{q.quarter}: {q.rows.height} 名网格员 (workers), 数据截止 (as of) {q.as_of}, {state} → {out}"
    )


users_app = typer.Typer(help="驾驶舱用户 (cockpit users): add, passwd, disable, enable, list", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _state():
    return get_settings().state_path()


def _password(password: str | None) -> str:
    import os

    if password:
        return password
    if os.environ.get("COCKPIT_NEW_PASSWORD"):
        return os.environ["COCKPIT_NEW_PASSWORD"]
    return typer.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option(help="leader | grid_worker | analyst | reviewer | admin")],
    grid: Annotated[str | None, typer.Option(help="网格编码 (required for grid_worker)")] = None,
    display_name: Annotated[str | None, typer.Option(help="显示名")] = None,
    password: Annotated[
        str | None, typer.Option(help="password (else COCKPIT_NEW_PASSWORD, else prompted)")
    ] = None,
) -> None:
    """Add a user; the password is stored as an Argon2id hash."""
    from cockpit.auth import AuthError, add_user

    try:
        add_user(_state(), username, _password(password), role, grid, display_name)
    except AuthError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    console.print(f"已添加用户 {username} ({role})")


@users_app.command("passwd")
def users_passwd(
    username: str, password: Annotated[str | None, typer.Option(help="new password (else prompted)")] = None
) -> None:
    """Set a user's password."""
    from cockpit.auth import AuthError, set_password

    try:
        set_password(_state(), username, _password(password))
    except AuthError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    console.print(f"已更新 {username} 的密码")


def _set_disabled(username: str, disabled: bool) -> None:
    from cockpit.auth import AuthError, set_disabled

    try:
        set_disabled(_state(), username, disabled)
    except AuthError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    console.print(f"已{'停用' if disabled else '启用'} {username}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user (their login stops working; the audit trail keeps their name)."""
    _set_disabled(username, True)


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False)


@users_app.command("list")
def users_list() -> None:
    """List users (never their hashes)."""
    from cockpit.auth import list_users

    t = Table("用户名", "角色", "网格", "显示名", "停用", "创建时间")
    for u in list_users(_state()):
        t.add_row(u["username"], u["role"], u["grid_code"] or "", u["display_name"] or "", "是" if u["disabled"] else "", u["created_at"])
    console.print(t)


@app.command("demo-users")
def demo_users(
    warehouse: Annotated[Path | None, typer.Option(help="仓库目录; default: settings")] = None,
) -> None:
    """Create one demo account per role with random passwords (printed once, and kept in
    <state>/demo_accounts.txt, mode 0600). Existing accounts are left alone."""
    import os
    import secrets

    from cockpit.auth import AuthError, add_user
    from warehouse.publish import connect_current

    if warehouse is not None:
        get_settings().warehouse = warehouse
    with connect_current(get_settings().warehouse) as con:
        row = con.execute(
            "select worker_id, grid_code from staging.stg_registry__workers where post = '网格长' order by worker_id limit 1"
        ).fetchall()
    worker, grid = row[0] if row else ("gridworker", None)
    wanted = [("leader", "leader", None, "街道领导"), ("analyst", "analyst", None, "数据分析员"),
              ("reviewer", "reviewer", None, "考核评审"), ("admin", "admin", None, "系统管理员"),
              (worker, "grid_worker", grid, f"网格长 {worker}")]
    lines = []
    for username, role, g, name in wanted:
        pw = secrets.token_urlsafe(12)
        try:
            add_user(_state(), username, pw, role, g, name)
        except AuthError:
            continue
        lines.append(f"{username}\t{role}\t{g or ''}\t{pw}")
    if lines:
        path = _state() / "demo_accounts.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write("\n".join(lines) + "\n")
        console.print("演示账号 (demo accounts) — 用户名 角色 网格 密码:")
        for line in lines:
            console.print("  " + line.replace("\t", "  "))
        console.print(f"(also kept in {path})")
    else:
        console.print(f"演示账号已存在 (demo accounts exist): see {_state() / 'demo_accounts.txt'}")


if __name__ == "__main__":
    app()
