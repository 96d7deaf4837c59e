"""The work domains, derived from the one list: the `sluis.types.v1.WorkDomain` enum.

A domain travels and is stored as its code: the enum value name without the prefix, in lower
case ("work_income"). Order is the enum's, so lists shown to people stay stable.
"""

from sluis.types.v1 import types_pb2

_PREFIX = "WORK_DOMAIN_"


def _code(name: str) -> str:
    return name.removeprefix(_PREFIX).lower()


WORK_DOMAINS: tuple[str, ...] = tuple(
    _code(name)
    for name, number in types_pb2.WorkDomain.items()
    if number != types_pb2.WORK_DOMAIN_UNSPECIFIED
)
