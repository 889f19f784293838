"""The web application: one factory, server-rendered pages and the JSON API."""
