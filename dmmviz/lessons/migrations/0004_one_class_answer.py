"""One class answer per follower and step (dmmviz/lessons/models.py ClassAnswer): duplicates a race left behind are
merged first (the earliest row kept, with every try counted and a right answer kept), then the constraints added."""

from django.conf import settings
from django.db import migrations, models


def merge_duplicates(apps, schema_editor):
    ClassAnswer = apps.get_model("lessons", "ClassAnswer")
    kept = {}
    for answer in ClassAnswer.objects.order_by("created", "id"):
        key = (answer.live_class_id, answer.step, answer.user_id, answer.session_key if answer.user_id is None else "")
        first = kept.get(key)
        if first is None:
            kept[key] = answer
            continue
        first.tries += answer.tries
        first.correct = first.correct or answer.correct
        first.response = answer.response
        first.save(update_fields=["tries", "correct", "response"])
        answer.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("lessons", "0003_class_answers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(merge_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="classanswer",
            constraint=models.UniqueConstraint(condition=models.Q(("user__isnull", False)),
                                               fields=("live_class", "step", "user"), name="one_class_answer_per_user"),
        ),
        migrations.AddConstraint(
            model_name="classanswer",
            constraint=models.UniqueConstraint(condition=models.Q(("user__isnull", True)),
                                               fields=("live_class", "step", "session_key"),
                                               name="one_class_answer_per_visitor"),
        ),
    ]
