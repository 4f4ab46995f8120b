"""dmmviz: the Django project (settings, ASGI entry point, URLs) and its apps.

The engine lives in the top-level package `simulator/` and knows nothing of Django; everything here is an adapter.
"""
