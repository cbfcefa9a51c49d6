"""The reliability suite reuses the integration fixtures (a fresh memcached and a sandboxed
Dovecot per test): tests/integration/conftest.py, loaded by path and re-exported here."""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, INTEGRATION)

_spec = importlib.util.spec_from_file_location("integration_conftest",
                                               os.path.join(INTEGRATION, "conftest.py"))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

PASSWORDS = _integration.PASSWORDS
memcached = _integration.memcached
make_dovecot = _integration.make_dovecot
pytest_runtest_makereport = _integration.pytest_runtest_makereport
