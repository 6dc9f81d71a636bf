"""PHP unserialize for the log's ``other`` column. The inputs are written by hand in PHP's serialize() format
(not produced by the test serializer, which is checked against them too)."""

from __future__ import annotations

import pytest

from moodle_sync.capture.phpserialize import loads, parse_other
from support.moodle_writes import php_serialize

#: The fixture's log row 2773 (unenrolment of user 115 by delete_user), as serialize() writes it when
#: logstore_standard | jsonformat is 0: every database value is a PHP string, lastenrol a bool.
MOODLE_USER_ENROLMENT_DELETED_PHP = (
    'a:2:{s:13:"userenrolment";a:12:{s:2:"id";s:3:"219";s:6:"status";s:1:"0";s:7:"enrolid";s:2:"13";'
    's:6:"userid";s:3:"115";s:9:"timestart";s:10:"1792029633";s:7:"timeend";s:1:"0";s:10:"modifierid";s:1:"2";'
    's:11:"timecreated";s:10:"1795744834";s:12:"timemodified";s:10:"1795744834";s:8:"courseid";s:1:"6";'
    's:5:"enrol";s:6:"manual";s:9:"lastenrol";b:1;}s:5:"enrol";s:6:"manual";}')


@pytest.mark.parametrize("text, value", [
    ("N;", None),
    ("b:1;", True),
    ("b:0;", False),
    ("i:-42;", -42),
    ("d:0.5;", 0.5),
    ("d:1.0E+25;", 1e25),
    ("d:-INF;", float("-inf")),
    ('s:0:"";', ""),
    ('s:5:"hello";', "hello"),
    ('s:2:"\u00e9";', "\u00e9"),  # the length counts UTF-8 bytes
    ('s:9:"a";b:1;"c";', 'a";b:1;"c'),  # quotes and semicolons inside a string
    ("a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}", ["a", "b"]),
    ('a:2:{s:1:"a";i:1;s:1:"b";a:0:{}}', {"a": 1, "b": []}),
    ('a:2:{i:1;s:1:"x";i:5;s:1:"y";}', {"1": "x", "5": "y"}),  # not 0..n-1: an object, as json_encode writes
    ('O:8:"stdClass":2:{s:2:"id";s:3:"219";s:4:"flag";b:0;}', {"id": "219", "flag": False}),
])
def test_php_values(text, value):
    assert loads(text) == value


def test_a_moodle_user_enrolment_deleted_row():
    other = parse_other(MOODLE_USER_ENROLMENT_DELETED_PHP)
    assert other["enrol"] == "manual"
    assert other["userenrolment"]["id"] == "219" and other["userenrolment"]["courseid"] == "6"
    assert other["userenrolment"]["lastenrol"] is True
    assert php_serialize(other) == MOODLE_USER_ENROLMENT_DELETED_PHP


@pytest.mark.parametrize("text", ['s:5:"hell";', "a:2:{i:0;i:1;}", "i:12", "x:1;", 'O:8:"stdClass":1:{i:0;}',
                                  "b:2;", "a:1:{a:0:{}i:1;}", 'N;N;', 's:-1:"";', 'C:3:"Foo":0:{}'])
def test_broken_or_unsupported_input_is_refused_with_a_clear_error(text):
    with pytest.raises(ValueError, match="PHP serialize"):
        loads(text)


def test_other_is_json_or_php_whichever_it_is():
    assert parse_other('{"itemid":"29","overridden":false,"finalgrade":null}') == {
        "itemid": "29", "overridden": False, "finalgrade": None}
    assert parse_other('a:3:{s:6:"itemid";s:2:"29";s:10:"overridden";b:0;s:10:"finalgrade";N;}') == {
        "itemid": "29", "overridden": False, "finalgrade": None}
    assert parse_other("null") is None and parse_other("N;") is None and parse_other(None) is None
    assert parse_other("") is None


def test_the_test_serializer_writes_what_php_writes():
    """tests/support/moodle_writes.php_serialize writes the test rows; it must match PHP's format byte for byte."""
    assert php_serialize({"a": 1, "b": []}) == 'a:2:{s:1:"a";i:1;s:1:"b";a:0:{}}'
    assert php_serialize(["a", "\u00e9"]) == 'a:2:{i:0;s:1:"a";i:1;s:2:"\u00e9";}'
    assert php_serialize({"x": None, "y": True, "z": 0.5}) == 'a:3:{s:1:"x";N;s:1:"y";b:1;s:1:"z";d:0.5;}'
    assert loads(php_serialize({"userenrolment": {"id": "1", "lastenrol": False}, "enrol": "self"})) == {
        "userenrolment": {"id": "1", "lastenrol": False}, "enrol": "self"}
