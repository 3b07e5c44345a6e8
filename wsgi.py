"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi:app run`."""
from wallet import create_app

app = create_app()
