"""On PostgreSQL, tracker_reading becomes a table partitioned by day on measured_at (tracker/reading_storage.py):
the same columns and primary key (patient_id, type, measured_at, device_id), which contains the partition key;
a DEFAULT partition; a BRIN index on measured_at; today's and the next days' partitions. Rows already stored are
copied over. The model state does not change, and SQLite keeps its plain table."""

from django.db import migrations

COLUMNS = ("patient_id, type, measured_at, device_id, value, unit, utc_offset_minutes, received_at")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from tracker.reading_storage import BRIN_INDEX, DEFAULT_PARTITION, TABLE, partitions_ensure

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO tracker_reading_plain")
        cursor.execute("ALTER TABLE tracker_reading_plain RENAME CONSTRAINT tracker_reading_pkey "
                       "TO tracker_reading_plain_pkey")
        # The primary key leads with patient_id: no separate index on it (nor on device_id) is kept.
        cursor.execute(f"""
            CREATE TABLE {TABLE} (
                patient_id bigint NOT NULL,
                type smallint NOT NULL,
                measured_at timestamp with time zone NOT NULL,
                device_id bigint NOT NULL,
                value double precision NOT NULL,
                unit smallint NOT NULL,
                utc_offset_minutes smallint NOT NULL,
                received_at timestamp with time zone NOT NULL,
                CONSTRAINT tracker_reading_pkey PRIMARY KEY (patient_id, type, measured_at, device_id)
            ) PARTITION BY RANGE (measured_at)""")
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"CREATE INDEX {BRIN_INDEX} ON {TABLE} USING brin (measured_at)")
    partitions_ensure()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM tracker_reading_plain")  # noqa: S608
        cursor.execute("DROP TABLE tracker_reading_plain")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tracker_reading RENAME TO tracker_reading_partitioned")
        cursor.execute("ALTER TABLE tracker_reading_partitioned RENAME CONSTRAINT tracker_reading_pkey "
                       "TO tracker_reading_partitioned_pkey")
        cursor.execute("""
            CREATE TABLE tracker_reading (
                type smallint NOT NULL, measured_at timestamp with time zone NOT NULL,
                value double precision NOT NULL, unit smallint NOT NULL, utc_offset_minutes smallint NOT NULL,
                received_at timestamp with time zone NOT NULL, device_id bigint NOT NULL,
                patient_id bigint NOT NULL,
                CONSTRAINT tracker_reading_pkey PRIMARY KEY (patient_id, type, measured_at, device_id))""")
        cursor.execute("CREATE INDEX tracker_reading_device_id_0b62ebf4 ON tracker_reading (device_id)")
        cursor.execute("CREATE INDEX tracker_reading_patient_id_e846b19f ON tracker_reading (patient_id)")
        cursor.execute(f"INSERT INTO tracker_reading ({COLUMNS}) SELECT {COLUMNS} "  # noqa: S608
                       "FROM tracker_reading_partitioned")
        cursor.execute("DROP TABLE tracker_reading_partitioned")  # its partitions go with it


class Migration(migrations.Migration):
    dependencies = [("tracker", "0013_devices_and_readings")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition)], state_operations=[]),
    ]
