"""A page over its time limit (dmmviz/web/middleware.py): 503, without claiming that nothing was changed, since the
view may still be running in its worker thread (a class start that took too long did start)."""

from __future__ import annotations

import asyncio

from django.test import RequestFactory, override_settings

from dmmviz.web.middleware import ServiceMiddleware


@override_settings(DMMVIZ_PAGE_TIMEOUT=0.05)
def test_a_page_over_its_time_limit_says_what_was_asked_may_still_be_done():
    async def slow_view(request):
        await asyncio.sleep(1)

    response = asyncio.run(ServiceMiddleware(slow_view)(RequestFactory().post("/lessons/x/class/")))
    text = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "within 0.05 s" in text and "may still be done" in text and "nothing was changed" not in text
