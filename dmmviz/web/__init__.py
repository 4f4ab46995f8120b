"""The web app: scenarios and simulation sessions (models), the pages (views) and the websocket (consumers)."""
