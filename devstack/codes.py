"""`make demo-codes`: the current TOTP codes of the demo people, for logging in to the portal."""

import json
import time
from pathlib import Path

from devstack.platform import ROOT
from services.gateway import totp


def main() -> None:
    demo_file = Path(ROOT / ".local" / "demo.json")
    if not demo_file.exists():
        raise SystemExit("Geen demodata gevonden: start eerst `make run`.")
    demo = json.loads(demo_file.read_text())
    now = time.time()
    print(f"Wachtwoord voor iedereen: {demo['professionals'][0]['password']}")
    print(f"Codes (geldig tot {time.strftime('%H:%M:%S', time.localtime((now // 30 + 1) * 30))}):")
    for person in [*demo["professionals"], *demo.get("admins", [])]:
        print(f"  {person['email']:<40} {totp.code_at(person['totpSecret'], now)}")


if __name__ == "__main__":
    main()
