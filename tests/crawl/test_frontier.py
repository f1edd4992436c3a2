"""The frontier: work starts in discovery order, a bounded number at once, and what is left
when the round is cut short stays queued."""

from __future__ import annotations

import asyncio

from linkcheck.frontier import MIN_RUNNING_TASKS, Frontier, max_running


def test_max_running_keeps_every_connection_busy() -> None:
    assert max_running(1) == MIN_RUNNING_TASKS
    assert max_running(100) == 400


def test_work_starts_in_order_a_bounded_number_at_once() -> None:
    started: list[tuple[str, int | None]] = []
    running = 0
    most = 0

    async def work(url: str, depth: int | None) -> None:
        nonlocal running, most
        started.append((url, depth))
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    async def crawl_page(url: str, depth: int) -> None:
        await work(url, depth)

    async def check_link(url: str) -> None:
        await work(url, None)

    async def main() -> None:
        frontier = Frontier(crawl_page, check_link, 3)
        async with frontier.open():
            for number in range(10):
                frontier.add(f"u{number}", 1 if number % 2 else None)

    asyncio.run(main())
    assert started == [(f"u{n}", 1 if n % 2 else None) for n in range(10)]
    assert most == 3


def test_a_page_starts_once_every_page_less_deep_is_done() -> None:
    """Breadth first: /slow (depth 1) is still running when /fast's child (depth 2) is
    found; the child waits for it, and checks go on meanwhile. So /slow's link to /deep
    is met first (depth 2), not the chain's (/fast -> /fast/a -> /deep: depth 3)."""
    events: list[str] = []
    depths: dict[str, int] = {}

    async def main() -> None:
        frontier: Frontier

        def found(url: str, depth: int) -> None:
            if url not in depths:
                depths[url] = depth
                frontier.add(url, depth)

        async def crawl_page(url: str, depth: int) -> None:
            events.append(f"start {url}")
            if url == "/":
                found("/slow", 1)
                found("/fast", 1)
            elif url == "/slow":
                await asyncio.sleep(0.3)
                found("/deep", 2)
            elif url == "/fast":
                found("/fast/a", 2)
                frontier.add("/check", None)
            elif url == "/fast/a":
                found("/deep", 3)
            events.append(f"end {url}")

        async def check_link(url: str) -> None:
            events.append(f"check {url}")

        frontier = Frontier(crawl_page, check_link, 8)
        async with frontier.open():
            found("/", 0)

    asyncio.run(main())
    assert depths["/deep"] == 2
    assert events.index("check /check") < events.index("end /slow")
    assert events.index("start /fast/a") > events.index("end /slow")


def test_work_added_by_work_is_done_in_the_same_round() -> None:
    done: list[str] = []

    async def main() -> None:
        frontier: Frontier

        async def crawl_page(url: str, depth: int) -> None:
            done.append(url)
            if depth < 3:
                frontier.add(f"{url}/next", depth + 1)
                frontier.add(f"{url}#check", None)

        async def check_link(url: str) -> None:
            done.append(url)

        frontier = Frontier(crawl_page, check_link, 2)
        async with frontier.open():
            frontier.add_all([("/", 0)])

    asyncio.run(main())
    assert done[0] == "/"
    assert "/" + "/next" * 3 in done
    assert len(done) == 7


def test_a_round_cut_short_keeps_what_was_waiting() -> None:
    started: list[str] = []

    async def crawl_page(url: str, depth: int) -> None:
        started.append(url)
        await asyncio.sleep(3600)

    async def check_link(url: str) -> None:
        raise AssertionError("no checks here")

    async def main() -> Frontier:
        frontier = Frontier(crawl_page, check_link, 1)

        async def round_() -> None:
            async with frontier.open():
                frontier.add_all([("a", 0), ("b", 0), ("c", 0)])

        task = asyncio.create_task(round_())
        await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return frontier

    frontier = asyncio.run(main())
    assert started == ["a"]
    assert len(frontier) == 2  # b and c: still to do, for a resume
