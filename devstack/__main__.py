"""`make run`: the whole platform locally, with demo data, until Ctrl-C."""

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from devstack.mailview import MailView
from devstack.platform import ROOT, Platform, Supervisor
from devstack.traces import TraceCollector

DEMO_BSNS = ("111222333", "123456782")
# With the local BRP on (the default) registrations are checked: use its test person.
BRP_ON = os.environ.get("SLUIS_DEV_BRP", "on").lower() != "off"
DEMO_PERSON = ("999993653", "1985-12-01") if BRP_ON else (DEMO_BSNS[0], "1990-04-12")


def _ports() -> dict[str, int]:
    # Fixed local ports so the printed commands keep working; override with SLUIS_DEV_PORT_<NAME>.
    defaults = {
        "gateway": 8080,
        "smtp": 1025,
        "identity": 50051,
        "signal": 50052,
        "match": 50053,
        "notify": 50054,
        "otlp": 4317,
        "brp": 8099,
    }
    return {k: int(os.environ.get(f"SLUIS_DEV_PORT_{k.upper()}", v)) for k, v in defaults.items()}


def registration_body(bsn: str, birth_date: str) -> str:
    """The JSON of a demo registration in the printed curl lines."""
    return json.dumps(
        {
            "bsn": bsn,
            "birthDate": birth_date,
            "multiProblemAttested": True,
            "consentGiven": True,
            "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
        }
    )


def _instructions(platform: Platform, demo: dict[str, Any], mail_url: str, traced: bool) -> str:
    pros = demo["professionals"]
    a = next(p for p in pros if p["organisation"] != pros[0]["organisation"])
    first = pros[0]
    body = registration_body(*DEMO_PERSON)
    curl = (
        f"curl -s -X POST {platform.url}/v1/signals -H 'Authorization: Bearer KEY' "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )
    lines = [
        "",
        "SluiS draait lokaal  (Ctrl-C stopt alles)",
        "",
        f"  REST API     {platform.url}/v1   (OpenAPI: {platform.url}/v1/openapi.json)",
        f"  Webportaal   {platform.url}/",
        f"  Mailbox      {mail_url}   (alle verstuurde mails)",
        *([f"  Traces       {mail_url}traces   (elk verzoek van gateway tot mail)"] if traced else []),
        f"  Logs         {platform.logdir}",
        f"  Lokale BRP   {platform.brp_server.url if platform.brp_server else 'uit (SLUIS_DEV_BRP=off)'}",
        "",
        "Demo-professionals (ontwikkelsleutels):",
        *[f"  {p['name']:<22} {p['organisation']:<24} {p['apiKey']}" for p in pros],
        "",
        f"1. {first['name']} ({first['organisation']}) registreert een signaal:",
        "   " + curl.replace("KEY", first["apiKey"]),
        f"2. {a['name']} ({a['organisation']}) signaleert dezelfde persoon: er ontstaat een match",
        "   " + curl.replace("KEY", a["apiKey"]),
        f"3. Bekijk de mails in {mail_url}, of vraag op wie er nog meer betrokken is:",
        f"   curl -s {platform.url}/v1/matches -H 'Authorization: Bearer {first['apiKey']}'",
        "",
        f"Webportaal: log in op {platform.url}/inloggen als {first['email']} met wachtwoord",
        f"   {first.get('password', '')} en de code die `make demo-codes` (in een tweede terminal) toont.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    workdir = Path(os.environ.get("SLUIS_DEV_DIR", ROOT / ".local"))
    ports = _ports()
    # The local trace viewer: an OTLP receiver writing this run's spans to .local/traces.jsonl,
    # unless a collector of your own is configured (OTEL_EXPORTER_OTLP_ENDPOINT).
    collector: TraceCollector | None = None
    extra_env: dict[str, str] = {}
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        (workdir / "traces.jsonl").unlink(missing_ok=True)
        collector = TraceCollector(workdir / "traces.jsonl", ports.pop("otlp")).start()
        extra_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}
    ports.pop("otlp", None)
    platform = Platform(
        workdir,
        region=os.environ.get("SLUIS_REGION", "rotterdam"),
        ports=ports,
        throwaway=False,
        extra_env=extra_env,
        brp=BRP_ON,
    )
    print("SluiS wordt gestart: PostgreSQL, Redis, SMTP en vijf services ...", flush=True)
    stopping = threading.Event()
    try:
        platform.start()
        demo = platform.seed_demo()
        mail_port = int(os.environ.get("SLUIS_DEV_PORT_MAILVIEW", 8025))
        view = MailView(platform.mailbox, mail_port, collector.path if collector else None).start()
        (workdir / "demo.json").write_text(json.dumps(demo, indent=2, ensure_ascii=False))
        print(
            _instructions(platform, demo, f"http://127.0.0.1:{mail_port}/", collector is not None), flush=True
        )
        # Ctrl-C and SIGTERM both stop cleanly, even where a parent shell ignored SIGINT.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        # A crashed service is restarted with back-off, as Kubernetes would; the rest runs on.
        supervisor = Supervisor(platform)
        try:
            while not stopping.wait(0.5):
                for message in supervisor.poll():
                    print(message, flush=True)
        except KeyboardInterrupt:
            pass
        view.stop()
    finally:
        print("\nSluiS wordt gestopt ...", flush=True)
        platform.stop()
        if collector is not None:
            collector.stop()
        print("Gestopt.")
    sys.exit(0)


if __name__ == "__main__":
    main()
