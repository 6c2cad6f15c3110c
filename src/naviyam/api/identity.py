"""Who is asking: the API's ``user_id`` as today's clients and the original design's clients send it.

* a JSON number (``863``), or a string naming a database user (``"863"``, ``"user_863"``): that user;
* any other string (``"kakao_5f2c"``): an app user without history — served as a new user and
  remembered by that string (stored with their turns and feedback, one conversation per string);
* nothing: an anonymous, cold-start user.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

_DB_USER = re.compile(r"^(?:user_?)?(\d{1,10})$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID = 2**31 - 1


def _no_bool(value: Any) -> Any:
    # pydantic would read true as 1 (found by fuzzing the API)
    if isinstance(value, (bool, bytes)) or (value is not None and not isinstance(value, (int, float, str))):
        raise ValueError("숫자나 문자열이어야 해요")
    return value


def _check(value: Any) -> Any:
    if isinstance(value, int):
        if not 1 <= value <= MAX_ID:
            raise ValueError(f"1 이상 {MAX_ID} 이하의 숫자여야 해요")
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text or _CONTROL.search(text):
            raise ValueError("비어 있거나 제어 문자가 든 사용자 id는 쓸 수 없어요")
        m = _DB_USER.match(text)
        if m and not 1 <= int(m.group(1)) <= MAX_ID:
            raise ValueError(f"1 이상 {MAX_ID} 이하의 숫자여야 해요")
        return text
    return value


#: ``user_id`` in requests: a number, a string, or null.
UserRef = Annotated[int | Annotated[str, Field(min_length=1, max_length=64)] | None, BeforeValidator(_no_bool),
                    AfterValidator(_check)]


@dataclass(frozen=True)
class Identity:
    user_id: int | None  # a database user (or an unknown number, served cold)
    app_user: str | None  # the string an app user is known by
    as_text: bool  # the client named the user with a string (the original API's form)

    def session_id(self) -> str | None:
        """A conversation per user string, for clients that send no session id (the original API has none)."""
        if not self.as_text:
            return None
        key = self.app_user or f"user_{self.user_id}"
        return "u-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def identify(value: int | str | None) -> Identity:
    if value is None:
        return Identity(None, None, False)
    if isinstance(value, int):
        return Identity(value, None, False)
    m = _DB_USER.match(value)
    if m:
        return Identity(int(m.group(1)), None, True)
    return Identity(None, value, True)
