"""Thin blueprints: read input, call one service, commit, then render, redirect or return JSON."""
