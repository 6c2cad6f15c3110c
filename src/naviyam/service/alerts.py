"""Operator alerts the chat raises: a crisis conversation, told without the message or who wrote it."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request

from sqlalchemy.orm import Session as DBSession

from naviyam.db.models import Alert

log = logging.getLogger(__name__)

ALERT_SAFETY = "safety_conversation"
SAFETY_ALERT_MESSAGE = "위기(자해·학대·위험) 대화가 있어 상담 전화(1388·109·112)를 안내했어요. 확인이 필요해요."


def alert_safety(db: DBSession, *, channel: str, webhook_url: str | None = None) -> None:
    """Store an ``alert`` row in the chat's own transaction; post to the webhook off the request path.

    The alert carries neither the message text nor the user, session or location: only that it happened
    and on which channel, so that the operator can follow the service's protocol.
    """
    details = {"intent": "SAFETY", "channel": channel}
    db.add(Alert(kind=ALERT_SAFETY, severity="critical", message=SAFETY_ALERT_MESSAGE, details=details))
    log.warning("ALERT %s on %s", ALERT_SAFETY, channel)
    if webhook_url:
        body = json.dumps({"kind": ALERT_SAFETY, "severity": "critical", "message": SAFETY_ALERT_MESSAGE,
                           "details": details}, ensure_ascii=False).encode("utf-8")
        threading.Thread(target=_post, args=(webhook_url, body), daemon=True).start()


def _post(url: str, body: bytes) -> None:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5):  # noqa: S310 - an operator-configured URL
            pass
    except OSError as exc:
        log.error("alert webhook %s failed: %s", url, exc)
