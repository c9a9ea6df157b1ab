"""The HTTP layer: falcon resources, JSON schemas, and the WSGI app gunicorn serves."""
