"""Moved to :mod:`naviyam.core.registry`; this alias keeps old imports working for one release."""

from naviyam.core.registry import *  # noqa: F403
from naviyam.core.registry import Allocation, ModelRegistry, RegistryError, default_registry  # noqa: F401
