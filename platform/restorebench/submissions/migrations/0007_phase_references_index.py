from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0006_efficiency"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(
                condition=models.Q(("is_reference", True)),
                fields=["phase", "method_name", "-created_at"],
                name="submission_phase_references",
            ),
        ),
    ]
