"""Who may use the operator's page. Airflow leaves plugin apps unprotected, so every route depends on these.

The caller is the Airflow user of the JWT in ``Authorization: Bearer`` or, in the browser, in the UI's own
``_token`` cookie, checked by the configured auth manager (simple, FAB, Keycloak...). Reading anything needs
access to the plugins view; a replay needs what triggering ``moodle_sync_replay`` needs in Airflow itself:
creating runs of that DAG (edit rights).
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request, status

REPLAY_DAG_ID = "moodle_sync_replay"


def _unauthenticated(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(request: Request):
    """The authenticated Airflow user, or 401 (no token, a bad or expired one)."""
    from jwt import InvalidTokenError

    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import USER_INJECTED_BY_TRUSTED_MIDDLEWARE

    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        token = credentials.strip()  # an explicit credential wins over the session cookie, as in Airflow's API
    else:
        # the api-server's JWTRefreshMiddleware already validated (and maybe refreshed) the cookie's user
        user = getattr(request.state, "user", None)
        if user is not None and getattr(request.state, "user_authenticated_via", None) is USER_INJECTED_BY_TRUSTED_MIDDLEWARE:
            return user
        token = request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    if not token:
        raise _unauthenticated("Not authenticated: sign in to Airflow, or send 'Authorization: Bearer <token>'")
    try:
        return await get_auth_manager().get_user_from_token(token)
    except InvalidTokenError:  # also an expired or revoked token
        raise _unauthenticated("Invalid or expired token: sign in to Airflow again") from None


def can_view(user) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView

    return bool(get_auth_manager().is_authorized_view(access_view=AccessView.PLUGINS, user=user))


def can_replay(user) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models import DagModel

    return bool(get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=REPLAY_DAG_ID, team_name=DagModel.get_team_name(REPLAY_DAG_ID)), user=user))


def viewer(user=Depends(current_user)):
    """Dependency: an authenticated user with access to plugins, else 403."""
    if not can_view(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: your Airflow role has no access to plugins")
    return user


def replayer(user=Depends(viewer)):
    """Dependency: a viewer who may also trigger moodle_sync_replay, else 403."""
    if not can_replay(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"Forbidden: replaying needs the right to trigger the {REPLAY_DAG_ID} DAG (edit rights)")
    return user
