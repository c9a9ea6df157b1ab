import pytest

from snekbox.jail.runtimes import RuntimeConfigError, discover, parse_spec


def test_parses_names_and_executables():
    assert parse_spec(" 3.12=/usr/bin/python3.12 , 3.13=/opt/py/bin/python3 ") == {
        "3.12": "/usr/bin/python3.12",
        "3.13": "/opt/py/bin/python3",
    }
    assert parse_spec("") == {}


@pytest.mark.parametrize("spec", ["3.12", "=/x", "a/b=/x", ".x=/x", "x="])
def test_rejects_bad_specs(spec):
    with pytest.raises(RuntimeConfigError):
        parse_spec(spec)


def test_default_cannot_be_redefined():
    with pytest.raises(RuntimeConfigError, match="always"):
        discover("default=/usr/bin/python3")


def test_packages_need_a_known_runtime():
    with pytest.raises(RuntimeConfigError, match="unknown runtimes"):
        discover("", "3.99=/tmp")
