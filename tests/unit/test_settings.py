import pytest

from snekbox import settings


def test_defaults_match_the_documented_contract():
    s = settings.load({})
    assert (s.time_limit, s.memory_limit, s.output_limit) == (5, 52428800, 1000000)


def test_environment_overrides_defaults():
    s = settings.load(
        {"SNEKBOX_OUTPUT_LIMIT": "2000", "SNEKBOX_TIME_LIMIT": "2.5", "SNEKBOX_RUNTIMES": "3.12=/x"}
    )
    assert (s.output_limit, s.time_limit, s.runtimes) == (2000, 2.5, "3.12=/x")


def test_bad_override_names_the_variable():
    with pytest.raises(settings.SettingsError, match="SNEKBOX_MAX_JOBS"):
        settings.load({"SNEKBOX_MAX_JOBS": "many"})


def test_defaults_file_and_settings_fields_agree(tmp_path):
    broken = tmp_path / "s.toml"
    broken.write_text('nsjail_path = ""\nsurprise = 1\n')
    with pytest.raises(settings.SettingsError, match="surprise"):
        settings.load({}, broken)


def test_jobs_at_once_is_automatic_when_zero():
    auto = settings.load({"SNEKBOX_MAX_JOBS": "0"})
    assert auto.jobs_at_once >= 1
    assert settings.load({"SNEKBOX_MAX_JOBS": "3", "SNEKBOX_WORKERS": "2"}).jobs_at_once == 3


def test_at_least_one_request_is_read_at_a_time():
    with pytest.raises(settings.SettingsError, match="SNEKBOX_MAX_READING"):
        settings.load({"SNEKBOX_MAX_READING": "0"})


@pytest.mark.parametrize(
    "raw,value", [("false", False), ("0", False), ("Off", False), ("true", True), ("yes", True)]
)
def test_a_switch_reads_the_usual_words(raw, value):
    assert settings.load({"SNEKBOX_PLAYGROUND": raw}).playground is value


def test_a_switch_refuses_anything_else():
    with pytest.raises(settings.SettingsError, match="SNEKBOX_PLAYGROUND"):
        settings.load({"SNEKBOX_PLAYGROUND": "maybe"})


def test_the_default_process_limit_is_one_of_at_most_sixteen():
    s = settings.load({})
    assert (s.process_limit, s.max_process_limit) == (1, 16)


@pytest.mark.parametrize("limit", ["0", "17"])
def test_the_process_limit_is_between_one_and_its_maximum(limit):
    # 0 would be no limit at all to nsjail.
    with pytest.raises(settings.SettingsError, match="SNEKBOX_PROCESS_LIMIT"):
        settings.load({"SNEKBOX_PROCESS_LIMIT": limit})
