"""The harness itself: a sandbox that fails to start reports why, once."""

import pytest

import sandbox


def test_sandbox_that_fails_to_start_reports_the_error_and_cleans_up(memcached):
    d = sandbox.Dovecot(memcached, extra_conf="no_such_setting_anywhere = 1\n")
    with pytest.raises(RuntimeError) as failed:
        d.start()
    # The start-up error carries Dovecot's own words (its config error names the setting).
    assert "no_such_setting_anywhere" in str(failed.value), str(failed.value)
    # Its directory is gone; what the fixture's teardown reads of it must not raise
    # (a TypeError there used to hide the error above and count the failure twice).
    assert d.run is None and d.log_path is None and d.config_path is None
    assert d.log() == "" and d.log_tail() == ""
    d.cleanup()
