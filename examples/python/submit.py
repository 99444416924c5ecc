"""Submit declarations to the FTPS Gateway exactly once and wait for their receipts.

    python submit.py --config client.toml [--profile tfe] --service Manifest.AnkomstdeklarationOpret FILE...

Without --config it starts the built-in simulator and submits a sample declaration to it, so the script can
be tried anywhere (`pip install skat-gateway`, then `python submit.py`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import skat_gateway as gw

# What submit_file did, in words: SubmitResult.outcome.
DONE = {"sent": "submitted", "resumed": "finished an interrupted upload", "already_submitted": "already submitted"}
SAMPLE = b'<?xml version="1.0" encoding="UTF-8"?>\n<AnkomstdeklarationOpret><Id>demo-1</Id></AnkomstdeklarationOpret>\n'


def submit_all(config: Path, profile: str | None, service: str, files: list[Path], wait: float) -> int:
    with gw.Client.from_config(config, profile) as client:
        names = []
        for file in files:
            result = client.submit_file(service, file)
            print(f"{file}: {DONE[result.outcome]} as {result.submission.name} ({result.submission.state.value})")
            names.append(result.submission.name)
        # Fetch status files until every submission has its final status (or the wait is over).
        report = client.poll(wait=wait)
        for receipt in report.receipts:
            print(f"  {receipt.name}: status {receipt.code} -> {receipt.state.value}")
        failed = False
        for name in names:
            submission = client.submission(name)
            print(f"{name}: {submission.state.value}")
            for response in submission.response_files:
                print(f"  response {response.remote_name} in {response.local_path}")
            if submission.state is gw.SubmissionState.FAILED and submission.error is not None:
                failed = True
                print(f"  rejected: {submission.error.code}: {submission.error.message}", file=sys.stderr)
        return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="the client profile file (default: run the simulator)")
    parser.add_argument("--profile", help="the profile in the file (default: its default_profile)")
    parser.add_argument("--service", default="Manifest.AnkomstdeklarationOpret")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the receipts")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.config is not None:
            return submit_all(args.config, args.profile, args.service, args.files, args.wait)
        with gw.Simulator() as sim, tempfile.TemporaryDirectory() as folder:
            sample = Path(folder) / "ankomst.xml"
            sample.write_bytes(SAMPLE)
            print(f"simulator on {sim.host}:{sim.port} (profile {sim.config_path})")
            return submit_all(sim.config_path, None, args.service, args.files or [sample], args.wait)
    except gw.GatewayError as error:
        print(f"error ({error.kind}): {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
