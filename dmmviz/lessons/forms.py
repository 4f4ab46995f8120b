"""Forms: importing a lesson or scenario file, and signing up."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from . import lessonfile

MAX_FILE_BYTES = 512 * 1024


def read_json_upload(upload: Any) -> Any:
    """Parse an uploaded JSON file; raise forms.ValidationError saying what is wrong (size, encoding, JSON syntax)."""
    if upload.size > MAX_FILE_BYTES:
        raise forms.ValidationError(
            f"the file is {upload.size // 1024} KiB; a lesson file may be at most {MAX_FILE_BYTES // 1024} KiB"
        )
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise forms.ValidationError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return lessonfile.parse_text(text)
    except lessonfile.LessonError as exc:
        raise forms.ValidationError(exc.problems[0].message) from None


class ImportForm(forms.Form):
    """A lesson file ("dmmviz-lesson/1") or a scenario file ("dmmviz-scenario/1", which becomes a one-step lesson)."""

    file = forms.FileField(label="Lesson or scenario file (.json)")

    def clean_file(self) -> dict[str, Any]:
        """Return a valid lesson document; every problem is reported on the form with its JSON path."""
        data = read_json_upload(self.cleaned_data["file"])
        if isinstance(data, dict) and data.get("format") == lessonfile.SCENARIO_FORMAT:
            data = lessonfile.from_scenario(data)
        # In the file's order (steps[2] before steps[10]), so a long list reads from the top of the file down.
        problems = sorted(
            lessonfile.validate(data), key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.path)]
        )
        if problems:
            raise forms.ValidationError(
                [forms.ValidationError(f"{p.path}: {p.message}" if p.path else p.message) for p in problems]
            )
        return lessonfile.normalise(data)


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class JoinForm(forms.Form):
    code = forms.CharField(label="Class code", max_length=12)

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper().replace(" ", "").replace("-", "")
