"""Drive the running cockpit in headless Chromium: log in, open every page through the sidebar,
screenshot it, and report any error or exception element (used by tests/test_browser.py and by hand:
``uv run python tests/browser.py URL USER PASSWORD OUTDIR``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
    "--lang=zh-CN",
)

FLAKY = (StaleElementReferenceException, NoSuchElementException)
ERROR_SELECTORS = ('[data-testid="stException"]', '[data-testid="stAlertContentError"]')


def click(d, by, selector: str, seconds: float = 30.0) -> None:
    """Click an element that Streamlit may re-render between finding and clicking it, or not have drawn yet: it is
    looked for again every half second for up to ``seconds`` (2.5 s were too few for a sidebar link while the test
    workers kept both cores busy: the CI run of 2b41a91 failed on it once)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            d.find_element(by, selector).click()
            return
        except FLAKY:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def errors(d) -> list[str]:
    for _ in range(5):
        try:
            return [f"{sel}: {e.text[:300]}" for sel in ERROR_SELECTORS for e in d.find_elements(By.CSS_SELECTOR, sel)]
        except FLAKY:
            time.sleep(0.5)
    return []


def driver() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    for f in CHROMIUM_FLAGS:
        opts.add_argument(f)
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def idle(d, timeout: float = 60) -> None:
    """Wait until the script has finished running (and the page has settled)."""
    end = time.time() + timeout
    time.sleep(0.3)
    while time.time() < end:
        try:
            states = [e.get_attribute("data-test-script-state") for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="stApp"]')]
            if states and all(s == "notRunning" for s in states) and not d.find_elements(By.CSS_SELECTOR, '[data-testid="stSkeleton"]'):
                return
        except FLAKY:  # the page re-rendered under us: look again
            pass
        time.sleep(0.2)
    raise TimeoutException("the app kept running")


def login(d, url: str, username: str, password: str) -> float:
    t0 = time.time()
    d.get(url)
    WebDriverWait(d, 60).until(lambda x: x.find_elements(By.CSS_SELECTOR, 'input[type="password"]'))
    first_paint = time.time() - t0
    d.find_element(By.CSS_SELECTOR, 'input[aria-label="用户名"]').send_keys(username)
    d.find_element(By.CSS_SELECTOR, 'input[type="password"]').send_keys(password)
    d.find_element(By.XPATH, '//button[.//p[text()="登录"]]').click()
    WebDriverWait(d, 180).until(lambda x: x.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"]'))
    idle(d, 180)
    return first_paint


def nav_links(d, tries: int = 10) -> list[tuple[str, str]]:
    """(href, title) of each sidebar link; read again if the sidebar re-renders while being read."""
    for i in range(tries):
        try:
            links = d.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
            # a link's text is its icon's ligature name, then the title
            return [(a.get_attribute("href"), a.text.strip().splitlines()[-1].strip()) for a in links]
        except FLAKY:
            if i == tries - 1:
                raise
            time.sleep(0.5)
    return []


def visit_all(url: str, username: str, password: str, outdir: Path) -> tuple[list[str], dict[str, float]]:
    """Open every page the user's sidebar lists; return (problems, seconds to settle per page)."""
    outdir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    timings: dict[str, float] = {}
    d = driver()
    try:
        timings["login_form"] = login(d, url, username, password)
        targets = nav_links(d)
        if not targets:
            problems.append(f"{username}: no pages in the sidebar")
        for href, title in targets:
            path = href.split("//", 1)[-1].split("/", 1)[-1].strip("/")
            slug = path or "overview"  # the default page lives at the root
            t0 = time.time()
            try:
                click(d, By.CSS_SELECTOR, f'[data-testid="stSidebarNavLink"][href="{href}"]')
                WebDriverWait(d, 180, ignored_exceptions=FLAKY).until(
                    lambda x, t=title: any(h.text.strip() == t for h in x.find_elements(By.TAG_NAME, "h1"))
                )
                idle(d, 180)
            except TimeoutException:
                d.save_screenshot(str(outdir / f"{username}_{slug}_TIMEOUT.png"))
                problems.append(f"{username} {title}: did not finish loading in 180 s")
                continue
            timings[title] = time.time() - t0
            time.sleep(1.0)  # let charts and maps draw before the screenshot
            d.save_screenshot(str(outdir / f"{username}_{slug}.png"))
            problems += [f"{username} {title}: {e}" for e in errors(d)]
    finally:
        d.quit()
    return problems, timings


if __name__ == "__main__":
    probs, times = visit_all(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    print(times)
    print("\n".join(probs) or "no problems")
    sys.exit(1 if probs else 0)


def sql_cancel_roundtrip(url: str, username: str, password: str, outdir: Path) -> dict:
    """On 自助查询: run a query that would take minutes, press 取消, and time until the page is usable
    again (the 运行 button enabled and the cancel message shown). Returns the figures and screenshots."""
    d = driver()
    try:
        login(d, url, username, password)
        click(d, By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"][href$="/sql"]')
        WebDriverWait(d, 60, ignored_exceptions=FLAKY).until(lambda x: any(h.text.strip() == "自助查询" for h in x.find_elements(By.TAG_NAME, "h1")))
        idle(d)
        time.sleep(1.5)
        d.save_screenshot(str(outdir / f"{username}_sql_editor.png"))
        long_sql = "select count(*) from range(1000000000000) t(i)"

        def running(x):
            return any("运行中" in e.text for e in x.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]'))

        for _attempt in range(3):  # the editor sends its text debounced; under load it may arrive late
            # the editor is a component iframe that loads after the page settles: wait for it, then its textarea
            WebDriverWait(d, 60, ignored_exceptions=FLAKY).until(lambda x: x.find_elements(By.CSS_SELECTOR, "iframe"))
            d.switch_to.frame(d.find_element(By.CSS_SELECTOR, "iframe"))
            area = WebDriverWait(d, 60, ignored_exceptions=FLAKY).until(lambda x: x.find_element(By.CSS_SELECTOR, "textarea"))
            from selenium.webdriver.common.keys import Keys

            area.send_keys(Keys.CONTROL, "a")
            area.send_keys(long_sql)
            d.switch_to.default_content()
            time.sleep(3)
            idle(d, 120)
            click(d, By.XPATH, '//button[.//p[contains(text(), "运行")]]')
            try:
                WebDriverWait(d, 60, ignored_exceptions=FLAKY).until(running)
                break
            except TimeoutException:
                idle(d, 120)
        else:
            raise TimeoutException("the long query never showed as running")
        time.sleep(2)
        d.save_screenshot(str(outdir / f"{username}_sql_running.png"))
        t0 = time.time()
        click(d, By.XPATH, '//button[.//p[contains(text(), "取消")]]')
        WebDriverWait(d, 60, ignored_exceptions=FLAKY).until(lambda x: any("查询已取消" in e.text for e in x.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]')))
        WebDriverWait(d, 60, ignored_exceptions=FLAKY).until(lambda x: x.find_element(By.XPATH, '//button[.//p[contains(text(), "运行")]]').is_enabled())
        usable = time.time() - t0
        idle(d)
        d.save_screenshot(str(outdir / f"{username}_sql_cancelled.png"))
        problems = errors(d)
        return {"cancel_to_usable_s": usable, "problems": problems}
    finally:
        d.quit()
