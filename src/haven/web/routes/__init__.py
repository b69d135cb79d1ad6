"""Every router of the web app. `create_app` includes each; a new module appends its router here."""

from fastapi import APIRouter

from haven.web.routes import auth, intel, review, victimid

ROUTERS: list[APIRouter] = [auth.router, review.router, victimid.router, intel.router]
