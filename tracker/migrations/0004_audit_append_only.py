from django.db import migrations

# PostgreSQL refuses UPDATE and DELETE on the audit trail, whatever the application does.
FORWARD = """
CREATE OR REPLACE FUNCTION tracker_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'tracker_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tracker_audit_no_update BEFORE UPDATE OR DELETE ON tracker_auditevent
  FOR EACH ROW EXECUTE FUNCTION tracker_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS tracker_audit_no_update ON tracker_auditevent;
DROP FUNCTION IF EXISTS tracker_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0003_audit_and_tokens")]
    operations = [migrations.RunPython(forward, backward)]
