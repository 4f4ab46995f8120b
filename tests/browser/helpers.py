"""What a student does on the page, as functions: open a scenario, wait for the page to settle, drag, step, read."""

from __future__ import annotations

IDLE_TIMEOUT_MS = 20_000


def wait_idle(page) -> None:
    """Wait until the page says it is idle: connected, not playing, no request out, no glide in progress."""
    page.wait_for_selector("body[data-sim-status=idle]", state="attached", timeout=IDLE_TIMEOUT_MS)


def open_scenario(page, slug: str) -> str:
    """From the home page, open a scenario (a new session); return the session's URL."""
    page.goto("/")
    page.click(f"li[data-slug={slug}] button[type=submit]")
    page.wait_for_url("**/s/*/")
    wait_idle(page)
    return page.url


def clock(page) -> float:
    return float(page.inner_text("#clock").removeprefix("t = ").removesuffix(" s"))


def play_until(page, t: float) -> None:
    """Press Space, wait until the clock passes t, press Space again and wait for the page to settle."""
    page.keyboard.press("Space")
    page.wait_for_function(
        f"() => parseFloat(document.querySelector('#clock').textContent.slice(4)) > {t}", timeout=60_000
    )
    page.keyboard.press("Space")
    wait_idle(page)


def centre(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).first.bounding_box()
    assert box, f"{selector} is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, source: str, target: str) -> None:
    """Drag with the mouse, in small moves as a person would, from one element's centre to another's."""
    x, y = centre(page, source)
    tx, ty = centre(page, target)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y - 8, steps=3)
    page.mouse.move(tx, ty, steps=10)
    page.mouse.up()
    wait_idle(page)


def step(page) -> None:
    page.keyboard.press("ArrowRight")
    wait_idle(page)


def step_back(page) -> None:
    page.keyboard.press("ArrowLeft")
    wait_idle(page)


def flying(page) -> list[str]:
    """Kinds of the messages drawn in the air right now."""
    return page.eval_on_selector_all("#air g.msg:not([display])", "els => els.map(e => e.dataset.kind)")


def step_until(page, predicate, limit: int = 40) -> int:
    """Step until predicate(page) holds; return how many steps it took (fails after `limit`)."""
    for n in range(1, limit + 1):
        step(page)
        if predicate(page):
            return n
    raise AssertionError(f"not reached after {limit} steps; in the air: {flying(page)}")


def table_rows(page, selector: str) -> list[list[str]]:
    """The visible rows of a live table, as lists of cell texts."""
    return page.eval_on_selector_all(
        f"{selector} table.live:not([hidden]) tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))",
    )


def select_node(page, node_id: str) -> None:
    """Click a MAR (or MN) in the drawing, as a student does to see its tables."""
    page.click(f"#topology g[data-id='{node_id}'] .shape")


def toolbar_off_screen(page) -> list[str]:
    """The visible toolbar controls that are not wholly on screen on one line (a 34 px button that wraps is taller)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
            '.toolbar > button, .toolbar .speed, .view-switch button, .downloads summary'
          )]
          .filter(e => e.offsetParent !== null)
          .map(e => [e.id || e.textContent.trim(), e.getBoundingClientRect()])
          .filter(([, b]) => b.left < 0 || b.right > innerWidth || b.bottom > 86 || b.height > 40)
          .map(([name, b]) =>
            `${name} at x ${Math.round(b.left)}..${Math.round(b.right)}, height ${Math.round(b.height)}`)"""
    )


def timeline_overlaps(page) -> list[str]:
    """Pairs of timeline labels whose boxes overlap (by more than half a pixel): labels a person cannot read."""
    return page.evaluate(
        """() => {
          const boxes = [...document.querySelectorAll('#timeline .mark text')]
            .map(e => [e.textContent, e.getBoundingClientRect()]);
          const out = [];
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [a, p] = boxes[i], [b, q] = boxes[j];
            const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
            const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
            if (w > 0.5 && h > 0.5) out.push(`${a} / ${b}`);
          }
          return out;
        }"""
    )
