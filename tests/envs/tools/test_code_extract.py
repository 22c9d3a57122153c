from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.tools.code_extract import extract_code, fenced_blocks


def test_fenced_python_block_wins_over_prose():
    reply = "Here is my answer:\n```python\ndef f(x):\n    return x + 1\n```\nDone."
    assert extract_code(reply) == "def f(x):\n    return x + 1"


def test_last_matching_block_is_taken():
    reply = "```python\nprint(1)\n```\nactually:\n```python\nprint(2)\n```"
    assert extract_code(reply) == "print(2)"


def test_language_tags_are_respected():
    reply = "```bash\nls\n```\n```sql\nSELECT 1\n```"
    assert extract_code(reply, "bash") == "ls"
    assert extract_code(reply, "sql") == "SELECT 1"


def test_bare_code_is_taken_whole_and_indentation_is_kept():
    assert extract_code("\n\n    return x\n\n") == "    return x"


def test_unclosed_fence_takes_the_rest():
    assert extract_code("```python\ndef f():\n    return 1") == "def f():\n    return 1"


def test_tilde_fences_and_crlf():
    assert extract_code("~~~py\r\nx = 1\r\n~~~") == "x = 1"


code_text = st.text(
    alphabet=st.characters(blacklist_characters="`~\r", blacklist_categories=["Cs"])
)


@given(body=code_text, before=code_text, after=code_text)
def test_a_fenced_body_round_trips(body, before, after):
    body = body.strip("\n")
    reply = f"{before}\n```python\n{body}\n```\n{after}"
    lines = body.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    assert extract_code(reply) == "\n".join(lines)


@given(st.text())
def test_any_text_gives_a_string_without_raising(text):
    code = extract_code(text)
    assert isinstance(code, str)
    assert len(code) <= len(text)
    assert isinstance(fenced_blocks(text), list)
