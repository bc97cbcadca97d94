"""One spelling per task (issue #12): the tasks of benchdata.tasks; stored `super_resolution` becomes `sr`.

The check constraint is dropped before the rows change (it would refuse `sr`) and added back with the
table's names after.
"""

from django.db import migrations, models

RENAMED = {"super_resolution": "sr"}


def rename_forward(apps, schema_editor):
    Track = apps.get_model("challenges", "Track")
    for old, new in RENAMED.items():
        Track.objects.filter(task=old).update(task=new)


def rename_backward(apps, schema_editor):
    Track = apps.get_model("challenges", "Track")
    for old, new in RENAMED.items():
        Track.objects.filter(task=new).update(task=old)


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0005_track_leaderboards_phase_final"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="track",
            name="track_task_valid",
        ),
        migrations.RunPython(rename_forward, rename_backward),
        migrations.AlterField(
            model_name="track",
            name="task",
            field=models.CharField(
                choices=[
                    ("denoise", "Denoising"),
                    ("deblur", "Deblurring"),
                    ("sr", "Super-resolution"),
                    ("inpaint", "Inpainting"),
                    ("jpeg", "JPEG artifact removal"),
                    ("burst_sr", "Burst super-resolution"),
                    ("enhance", "Enhancement (organizer pairs)"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddConstraint(
            model_name="track",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("task__in", ["denoise", "deblur", "sr", "inpaint", "jpeg", "burst_sr", "enhance"])
                ),
                name="track_task_valid",
            ),
        ),
    ]
