"""Requests to gateways and agencies' systems, their failures sorted into Refused and Unavailable."""

from __future__ import annotations

import requests

from app.senders import Refused, Unavailable


def post_json(url: str, body: dict, headers: dict, timeout: float, gateway: str) -> dict:
    """The gateway's JSON answer to a 2xx; Unavailable for what may pass, Refused for what will not."""
    answer = call("POST", url, gateway, timeout, json=body, headers=headers)
    if not isinstance(answer, dict):
        raise Refused(f"{gateway} answered something that is not its API: {str(answer)[:200]!r}")
    return answer


def call(method: str, url: str, gateway: str, timeout: float, **kwargs):
    """One request; its JSON answer to a 2xx (any JSON value), sorted failures otherwise."""
    try:
        response = requests.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.ConnectionError as exc:  # no connection (ConnectTimeout among them): nothing was sent
        raise Unavailable(f"{gateway} could not be reached: {exc.__class__.__name__}") from None
    except requests.Timeout:  # sent, and no answer in time
        raise Unavailable(f"{gateway} did not answer within {timeout:g} s", maybe_received=True) from None
    except requests.RequestException as exc:
        raise Unavailable(f"{gateway} could not be reached: {exc.__class__.__name__}", maybe_received=True) from None
    if response.status_code in (408, 429):
        raise Unavailable(f"{gateway} answered HTTP {response.status_code}")
    if response.status_code >= 500:
        raise Unavailable(f"{gateway} answered HTTP {response.status_code}", maybe_received=True)
    if not 200 <= response.status_code < 300:
        raise Refused(f"{gateway} refused the message: HTTP {response.status_code} {_excerpt(response)}")
    try:
        return response.json()
    except ValueError:
        # Not its API: whether it acted on the request is unknown, so it is not sent again (no second SMS).
        raise Refused(f"{gateway} answered something that is not its API: {_excerpt(response)}") from None


def _excerpt(response: requests.Response) -> str:
    return repr(response.text[:200])
