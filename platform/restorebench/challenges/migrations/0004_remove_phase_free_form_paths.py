"""The free-form data paths of phases are gone: the data moved into each challenge's area (0003)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("challenges", "0003_phase_data_areas")]

    operations = [
        migrations.RemoveField(model_name="phase", name="inputs_dir"),
        migrations.RemoveField(model_name="phase", name="ground_truth_dir"),
    ]
