"""Security headers: the CSP text and the nonce helper (no database)."""

from __future__ import annotations

from flask import Flask

from registry.auth import security
from registry.backup import libpq_params


def test_default_policy_blocks_inline_scripts_and_framing() -> None:
    csp = security.content_security_policy("n0nce")
    parts = dict(p.split(" ", 1) for p in csp.split("; "))
    assert parts["script-src"] == "'self' 'nonce-n0nce'"
    assert "unsafe-inline" not in parts["script-src"]
    assert parts["frame-ancestors"] == "'none'"
    assert parts["object-src"] == "'none'"
    assert "http" not in csp  # nothing from a CDN


def test_map_policy_allows_inline_scripts_and_same_origin_frames() -> None:
    csp = security.content_security_policy(None, inline_scripts=True, frame_self=True,
                                           extra_img_src="https://t0.tianditu.gov.cn")
    parts = dict(p.split(" ", 1) for p in csp.split("; "))
    assert parts["script-src"] == "'self' 'unsafe-inline'"
    assert parts["frame-ancestors"] == "'self'"
    assert parts["img-src"].endswith("https://t0.tianditu.gov.cn")


def test_nonce_scripts_marks_only_line_starting_script_tags() -> None:
    app = Flask(__name__)
    html = ('<script src="/static/vendor/leaflet/leaflet.js"></script>\n'
            '    <script>var map = L.map("m");</script>\n'
            '<div>var popup = `<script>alert(1)</script>`</div>\n'
            '<script nonce="already">x()</script>')
    with app.test_request_context():
        nonce = security.csp_nonce()
        out = str(security.nonce_scripts(html))
    lines = out.splitlines()
    assert lines[0].startswith(f'<script nonce="{nonce}" src=')
    assert lines[1].strip().startswith(f'<script nonce="{nonce}">')
    assert "nonce" not in lines[2]  # inside a string, not a tag of the page
    assert lines[3] == '<script nonce="already">x()</script>'


def test_libpq_params_keep_the_password_off_the_command_line() -> None:
    args, env = libpq_params("postgresql+psycopg://u:p%40ss@db:5433/reg?sslmode=require")
    assert "p@ss" not in " ".join(args) and env["PGPASSWORD"] == "p@ss"
    assert env["PGSSLMODE"] == "require"
    assert args == ["--host", "db", "--port", "5433", "--username", "u", "--dbname", "reg"]
    args, _ = libpq_params("postgresql+psycopg://u@/reg?host=/var/run/postgresql")
    assert args[:2] == ["--host", "/var/run/postgresql"]
