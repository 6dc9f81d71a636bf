"""Every form a secret can be echoed in is cut out (moodle_sync.redaction): the forms a backend, a library or PHP
write, and the parts of a Slack webhook URL that give it away on their own."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from moodle_sync.redaction import redact, secret_forms, url_secret_parts

TOKEN = 'abc/def+g h="é'


def test_every_echoed_form_of_a_token_is_cut_out():
    echoed = {
        "verbatim": TOKEN,
        "url-encoded": quote(TOKEN, safe=""),
        "url-encoded, lower-case hex": quote(TOKEN, safe="").replace("%2F", "%2f").replace("%2B", "%2b"),
        "form-encoded": quote_plus(TOKEN),
        "json": json.dumps(TOKEN)[1:-1],
        "json, not ascii": json.dumps(TOKEN, ensure_ascii=False)[1:-1],
        "php json_encode": json.dumps(TOKEN)[1:-1].replace("/", "\\/"),
    }
    assert len(set(echoed.values())) == len(echoed)  # seven different texts
    for name, form in echoed.items():
        text = f'{{"detail": "Invalid token {form}", "trace": "x"}}'
        assert redact(text, [TOKEN]) == '{"detail": "Invalid token ***", "trace": "x"}', name


def test_the_parts_of_a_slack_url_are_secret_on_their_own():
    url = "https://hooks.slack.com/services/T0001/B0002/slackSecretPart42"
    assert url_secret_parts(url)[:3] == ["/services/T0001/B0002/slackSecretPart42",
                                         "services/T0001/B0002/slackSecretPart42", "T0001/B0002/slackSecretPart42"]
    refused = ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
               "/services/T0001/B0002/slackSecretPart42 (Caused by NewConnectionError)")
    out = redact(refused, [url], url=True)
    assert "slackSecretPart42" not in out and "T0001" not in out and "B0002" not in out
    assert "with url: ***" in out
    assert redact("token slackSecretPart42 and T0001%2FB0002%2FslackSecretPart42", [url], url=True) == \
        "token *** and ***"


def test_nothing_else_is_cut_and_short_parts_are_not_masked_alone():
    assert redact("HTTP 500: the services are down", ["abcdef"]) == "HTTP 500: the services are down"
    assert "/" not in secret_forms("https://hooks.slack.com/services/T/B/abcdef", url=True)
    assert redact("x", [None, ""]) == "x"
