"""The scenario upload form: every problem is reported on the `file` field, naming its JSON path."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from . import limits
from .models import scenario_problems


class ScenarioUploadForm(forms.Form):
    file = forms.FileField(label="Scenario file (.json)")

    def clean_file(self) -> dict[str, Any]:
        """Return the parsed, engine-validated scenario document (the cleaned value is the dict, not the file)."""
        upload = self.cleaned_data["file"]
        limit = settings.DMMVIZ_MAX_SCENARIO_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"the file is {upload.size // 1024} KiB; a scenario may be at most {limit // 1024} KiB",
                code="too_large",
            )
        try:
            data = limits.loads(upload.read())  # UTF-8, JSON, integer sizes and nesting depth (dmmviz/web/limits.py)
        except limits.JSONInputError as exc:
            raise forms.ValidationError(exc.message, code="json") from None
        if not isinstance(data, dict):
            raise forms.ValidationError("a scenario is a JSON object ({...}), not a list or a value", code="shape")
        problems = scenario_problems(data)
        if problems:
            raise forms.ValidationError([forms.ValidationError(p, code="scenario") for p in problems])
        return data


class ScenarioRenameForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True)
