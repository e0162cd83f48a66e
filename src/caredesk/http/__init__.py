"""The HTTP layer both front ends share: the app factory, request dependencies (runtime, session, caller),
error handlers, CSRF, body limits and security headers. `api` (JSON) and `web` (pages) build on it and never
import each other."""
