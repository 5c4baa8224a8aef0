"""`python -m local.images` (`make images`): Lambda-like images for `sam local invoke --invoke-image`, built here.

No image is ever pulled: each is a Debian root filesystem from ``debootstrap`` (the suite whose ``python3`` is the
template's runtime version), plus PyPI wheels for the target architecture (the runtime interface client
``awslambdaric``, and the boto3 the tests pin, as Lambda's runtime brings its own), plus ``/var/runtime/bootstrap``,
imported with ``docker import``. SAM CLI adds its emulator (``aws-lambda-rie``, shipped in its package) on top.
arm64 runs under Debian's ``qemu-user-static`` through binfmt_misc. The debootstrap result is cached under
``AUTHHOOKS_CACHE_DIR`` (default /var/cache/authhooks); an image whose inputs did not change is not rebuilt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from local import template

ARCHITECTURES = ("x86_64", "arm64")
_DEBIAN_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
_QEMU = {"x86_64": "qemu-x86_64", "arm64": "qemu-aarch64"}
_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
# The Debian suite whose python3 is each Lambda Python version.
_SUITES = {"3.11": "bookworm", "3.12": None, "3.13": "trixie"}
_WHEEL_PLATFORMS = {
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64"],
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64"],
}
AWSLAMBDARIC = "awslambdaric==4.2.2"
_LABEL = "authhooks.inputs"
_FORMAT = 3  # bump when the way an image is made changes
REQUIREMENTS_DEV = template.ROOT / "requirements-dev.txt"


def cache_dir() -> Path:
    return Path(os.environ.get("AUTHHOOKS_CACHE_DIR", "/var/cache/authhooks"))


def python_version() -> str:
    """The template's Lambda runtime version (``python3.11`` -> ``3.11``), like the Makefile derives it."""
    runtime = template.cached()["Globals"]["Function"]["Runtime"]
    match = re.fullmatch(r"python(\d+\.\d+)", runtime)
    if not match:
        raise SystemExit(f"template.yaml's runtime {runtime!r} is not a Python runtime")
    return match[1]


def image_name(architecture: str) -> str:
    """The image to give `sam local ... --invoke-image` for functions of ``architecture``."""
    return f"authhooks/lambda-python:{python_version()}-{architecture}"


def _suite() -> str:
    suite = _SUITES.get(python_version())
    if not suite:
        raise SystemExit(f"no Debian suite ships python{python_version()} as its python3")
    return suite


def runtime_packages() -> list[str]:
    """The wheels Lambda's Python runtime brings: the interface client and boto3/botocore as the tests pin them."""
    pins = {}
    for line in REQUIREMENTS_DEV.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.lower() in ("boto3", "botocore"):
            pins[name.lower()] = f"{name.lower()}=={version.strip()}"
    return [AWSLAMBDARIC, pins["boto3"], pins["botocore"]]


def bootstrap() -> str:
    """/var/runtime/bootstrap: what Lambda's Python runtime does, with the search path Lambda gives a function."""
    version = python_version()
    return (
        "#!/bin/sh\n"
        "# Lambda's order: the function, the layer's site-packages and python/, then the runtime's own packages.\n"
        f'export PYTHONPATH="/var/task:/opt/python/lib/python{version}/site-packages:/opt/python:/var/runtime"\n'
        "export PYTHONUNBUFFERED=1\n"
        f'exec /usr/bin/python{version} -m awslambdaric "$_HANDLER"\n'
    )


def inputs_hash(architecture: str) -> str:
    """What an image is made of; an image labelled with the same hash needs no rebuild."""
    inputs = {
        "format": _FORMAT,
        "suite": _suite(),
        "arch": _DEBIAN_ARCH[architecture],
        "python": python_version(),
        "packages": runtime_packages(),
        "bootstrap": bootstrap(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _run(*command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603


def _host_architecture() -> str:
    machine = platform.machine()
    return {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}[machine.lower()]


def emulated(architecture: str) -> bool:
    """Whether this machine runs ``architecture`` under qemu (not natively)."""
    return architecture != _host_architecture()


def enable_emulation(architecture: str) -> None:
    """binfmt_misc with Debian's qemu-user-static, so the kernel runs ``architecture`` binaries (in containers too)."""
    if not emulated(architecture):
        return
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "register").exists():
        _run("mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt))
    entry = binfmt / _QEMU[architecture]
    if not entry.exists() or "enabled" not in entry.read_text():
        _run("update-binfmts", "--enable", _QEMU[architecture])
    # The F flag: the kernel holds the interpreter open, so it works inside containers' own root filesystems.
    if "flags: " not in entry.read_text() or "F" not in entry.read_text().split("flags: ", 1)[1].split()[0]:
        raise SystemExit(f"binfmt_misc {entry.name} lacks the F flag: containers cannot run {architecture} binaries")


def root_filesystem(architecture: str) -> Path:
    """The debootstrap of the suite for ``architecture`` (with python3), cached; built on the first call."""
    suite, arch = _suite(), _DEBIAN_ARCH[architecture]
    target = cache_dir() / "debootstrap" / f"{suite}-{arch}-python{python_version()}"
    done = target / ".authhooks-complete"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    include = f"--include=python{python_version()}"
    started = time.monotonic()
    if not emulated(architecture):
        _run("debootstrap", "--variant=minbase", include, suite, str(target))
    else:
        enable_emulation(architecture)
        _run("debootstrap", f"--arch={arch}", "--foreign", "--variant=minbase", include, suite, str(target))
        _run("chroot", str(target), "/debootstrap/debootstrap", "--second-stage")
    done.write_text(f"{suite} {arch} in {time.monotonic() - started:.0f} s\n")
    return target


def _install_runtime(root: Path, architecture: str) -> None:
    """The runtime's wheels into /var/runtime (pip on this machine, for the target platform), and the bootstrap."""
    runtime = root / "var" / "runtime"
    platforms = [arg for p in _WHEEL_PLATFORMS[architecture] for arg in ("--platform", p)]
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(runtime),
        "--only-binary=:all:",
        *platforms,
        "--python-version",
        python_version(),
        "--implementation",
        "cp",
        *runtime_packages(),
    )
    # Compiled once here (same Python minor version, so the same bytecode): a cold start, under qemu above all,
    # would otherwise compile botocore every time, the image's files being read-only to the function.
    _run(sys.executable, "-m", "compileall", "-q", "-j", "0", "-d", "/var/runtime", str(runtime), capture_output=True)
    (runtime / "bootstrap").write_text(bootstrap(), encoding="utf-8")
    (runtime / "bootstrap").chmod(0o755)
    (root / "var" / "task").mkdir(parents=True, exist_ok=True)
    (root / "opt").mkdir(parents=True, exist_ok=True)
    for unneeded in ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/cache/apt/archives", "debootstrap"):
        shutil.rmtree(root / unneeded, ignore_errors=True)


def dockerfile(inputs: str) -> str:
    """The image: the root filesystem (a tar, so owners and modes survive), Lambda's variables, its inputs label."""
    return (
        "FROM scratch\n"
        "ADD rootfs.tar /\n"
        "ENV LANG=C.UTF-8 LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime\n"
        f"LABEL {_LABEL}={inputs}\n"
        "WORKDIR /var/task\n"
    )


def image_inputs(name: str) -> str | None:
    """``<inputs label> <architecture>`` of a local image, or None when there is no such image."""
    found = subprocess.run(  # noqa: S603 - docker from PATH
        [  # noqa: S607
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{_LABEL}"}}}} {{{{.Architecture}}}}',
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def up_to_date(architecture: str) -> bool:
    """Whether the local image for ``architecture`` exists, for that architecture, made of today's inputs."""
    return image_inputs(image_name(architecture)) == f"{inputs_hash(architecture)} {_DEBIAN_ARCH[architecture]}"


def build(architecture: str, force: bool = False) -> str:
    """Build (or keep) the image for ``architecture``; returns its name."""
    name, wanted = image_name(architecture), inputs_hash(architecture)
    if not force and up_to_date(architecture):
        print(f"{name} is up to date ({_LABEL}={wanted})", file=sys.stderr)
        enable_emulation(architecture)
        return name
    rootfs = root_filesystem(architecture)
    enable_emulation(architecture)
    with tempfile.TemporaryDirectory(prefix="authhooks-image-", dir=cache_dir()) as work:
        context, staging = Path(work), Path(work) / "rootfs"
        _run("cp", "-a", str(rootfs), str(staging))
        _install_runtime(staging, architecture)
        _run("tar", "-C", str(staging), "-cf", str(context / "rootfs.tar"), ".")
        shutil.rmtree(staging)
        (context / "Dockerfile").write_text(dockerfile(wanted), encoding="utf-8")
        # FROM scratch names no image, and --pull=false says it anyway: nothing may ask a registry.
        _run(
            "docker",
            "build",
            "--pull=false",
            "--quiet",
            "--platform",
            f"linux/{_DEBIAN_ARCH[architecture]}",
            "--tag",
            name,
            str(context),
            capture_output=True,
        )
    check(architecture)
    return name


def _daemon_with_missing_proxy() -> int | None:
    """The pid of a dockerd started with a ``--userland-proxy-path`` to a docker_proxy.py that is gone, if any."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not arguments or Path(arguments[0]).name != "dockerd":
            continue
        for argument in arguments:
            proxy = argument.removeprefix("--userland-proxy-path=")
            if proxy != argument and Path(proxy).name == "docker_proxy.py" and not Path(proxy).exists():
                return int(cmdline.parent.name)
    return None


def docker_daemon(wait_seconds: float = 60) -> None:
    """Make sure a Docker daemon answers: else start Debian's ``dockerd`` (root; no iptables, so no route out)."""

    def answers() -> bool:
        return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0  # noqa: S607

    stale = _daemon_with_missing_proxy()
    if stale is not None:
        # Started by an earlier checkout that is gone: its published ports would fail. Ours replaces it.
        print(f"dockerd {stale} uses a port proxy that no longer exists; restarting it", file=sys.stderr)
        os.kill(stale, signal.SIGTERM)
        deadline = time.monotonic() + wait_seconds
        while Path(f"/proc/{stale}").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
    elif answers():
        return
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        raise SystemExit("no Docker daemon answers, and this is not root with dockerd installed: start Docker first")
    log = cache_dir() / "dockerd.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    # Ports published through our proxy (docker_proxy.py says why): SAM's first call must wait for the emulator.
    command = ["dockerd", "--iptables=false", f"--userland-proxy-path={Path(__file__).with_name('docker_proxy.py')}"]
    print(f"starting {' '.join(command)} (log: {log})", file=sys.stderr)
    with log.open("ab") as out:
        # Its own session: it outlives this command (make test, make images) like a service would.
        subprocess.Popen(  # noqa: S603
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_seconds
    while not answers():
        if time.monotonic() > deadline:
            raise SystemExit(f"dockerd did not answer within {wait_seconds:.0f} s; see {log}")
        time.sleep(0.5)


def check(architecture: str) -> None:
    """Run the image once: its Python is the right machine and imports the runtime interface client and boto3."""
    probe = "import platform, awslambdaric, boto3; print(platform.machine(), boto3.__version__)"
    done = _run(
        "docker",
        "run",
        "--rm",
        "--pull",
        "never",
        "--platform",
        f"linux/{_DEBIAN_ARCH[architecture]}",
        "--network",
        "none",
        "--entrypoint",
        f"/usr/bin/python{python_version()}",
        "-e",
        "PYTHONPATH=/var/runtime",
        image_name(architecture),
        "-c",
        probe,
        capture_output=True,
    )
    machine = done.stdout.split()[0] if done.stdout.split() else ""
    if machine != _MACHINE[architecture]:
        raise SystemExit(
            f"{image_name(architecture)} runs as {machine!r}, not {_MACHINE[architecture]}: {done.stdout}{done.stderr}"
        )
    print(f"{image_name(architecture)}: {done.stdout.strip()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.images", description=__doc__.splitlines()[0])
    parser.add_argument("architectures", nargs="*", metavar="ARCH", help=f"of {', '.join(ARCHITECTURES)} (default all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs did not change")
    args = parser.parse_args(argv)
    unknown = set(args.architectures) - set(ARCHITECTURES)
    if unknown:
        parser.error(f"unknown architecture {', '.join(sorted(unknown))}; one of {', '.join(ARCHITECTURES)}")
    docker_daemon()
    for architecture in args.architectures or ARCHITECTURES:
        started = time.monotonic()
        name = build(architecture, args.force)
        print(f"{name} ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
