-- 005_draw_storage.sql — how the largest draws are stored (issue 5).
--
-- A draw of 200,000 from 4,000,000 writes an 80 MB population snapshot and a
-- 30 MB signed record.  Stored uncompressed (004), writing them cost about
-- as much as drawing; lz4 (fast, and in Debian's PostgreSQL) writes about a
-- quarter of the bytes and of the WAL in less time.  Rows already stored
-- keep their form; the values read back are the same bytes either way.
ALTER TABLE log_leaves ALTER COLUMN record SET STORAGE EXTENDED,
                       ALTER COLUMN record SET COMPRESSION lz4;
ALTER TABLE draw_snapshots ALTER COLUMN data SET STORAGE EXTENDED,
                           ALTER COLUMN data SET COMPRESSION lz4;

-- A task's locked list is one row: its objects and their strata as arrays
-- in list order.  As a row per object (003), locking a list of 200,000
-- cost about a second of index maintenance; every reader wants a whole
-- list or the whole year's lists anyway, and reads the view task_list,
-- which has the shape of the old table (position 0-based, in list order).
-- The lists already stored move over in this one transaction, unchanged.
CREATE TABLE task_lists (
    task_id    text PRIMARY KEY,
    directory  text NOT NULL,
    draw_year  integer NOT NULL,
    drawn_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    objects    text[] NOT NULL,
    strata     integer[] NOT NULL,
    CHECK (cardinality(objects) = cardinality(strata)),
    CHECK (array_position(objects, NULL) IS NULL AND array_position(strata, NULL) IS NULL)
);
ALTER TABLE task_lists ALTER COLUMN objects SET COMPRESSION lz4;
CREATE TRIGGER task_lists_append_only BEFORE UPDATE OR DELETE ON task_lists
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER task_lists_no_truncate BEFORE TRUNCATE ON task_lists
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
INSERT INTO task_lists (task_id, directory, draw_year, drawn_at, objects, strata)
SELECT task_id, min(directory), min(draw_year), min(drawn_at),
       array_agg(object_id ORDER BY position), array_agg(stratum ORDER BY position)
  FROM task_list GROUP BY task_id;
DROP VIEW drawn_counts;
DROP TABLE task_list;
CREATE VIEW task_list AS
    SELECT l.task_id, x.object_id, l.directory, x.stratum, (x.pos - 1)::integer AS position,
           l.drawn_at, l.draw_year
      FROM task_lists l, unnest(l.objects, l.strata) WITH ORDINALITY AS x(object_id, stratum, pos);
-- How often each object was drawn in a year, by draws still in force (as in 003).
CREATE VIEW drawn_counts AS
    SELECT l.directory, l.object_id, l.draw_year, count(*) AS n
      FROM task_list l WHERE NOT EXISTS (SELECT 1 FROM task_voids v WHERE v.task_id = l.task_id)
     GROUP BY l.directory, l.object_id, l.draw_year;
GRANT SELECT ON task_lists, task_list, drawn_counts TO shuangsui_app;

-- The draw locks its list as one row.  An object twice in a list is
-- refused here too (the draw cannot produce one: a snapshot's ids are
-- distinct and the selection is without replacement).
CREATE OR REPLACE FUNCTION draw_run_commit(p_actor text, p_key text, p_request_sha256 text, p_prefix text,
                                p_task text, p_objects text[], p_strata integer[],
                                p_record bytea, p_sig bytea, p_leaf bytea, p_idx bigint,
                                p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    t tasks%ROWTYPE;
    o draw_opens%ROWTYPE;
    missing text;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.run', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM draw_may_run(p_actor, p_task, p_prefix);
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    IF coalesce(draw_task_state(p_task), '') <> 'opened' THEN
        PERFORM ss_bad('task ' || p_task || ' is ' || coalesce(draw_task_state(p_task), 'unknown') ||
                       ', not opened for its draw',
                       '任务 ' || p_task || ' 状态为 ' || coalesce(draw_task_state(p_task), '未知') ||
                       '，不是待抽取', 'draw.task_id');
    END IF;
    SELECT * INTO o FROM draw_opens WHERE task_id = p_task;
    SELECT string_agg(w, ', ') INTO missing FROM unnest(o.witnesses) w
     WHERE NOT EXISTS (SELECT 1 FROM draw_witnesses x WHERE x.task_id = p_task AND x.principal_id = w);
    IF (missing IS NOT NULL OR cardinality(o.witnesses) = 0)
       AND NOT EXISTS (SELECT 1 FROM draw_waivers w WHERE w.task_id = p_task) THEN
        PERFORM ss_bad('the draw waits for its witnesses (' || coalesce(missing, 'none named') ||
                       '), or for the legal office to record why they are absent',
                       '抽取须等待见证人（' || coalesce(missing, '未指定') || '），或由法规科记录其缺席原因',
                       'draw.task_id');
    END IF;
    IF (SELECT count(DISTINCT u) FROM unnest(p_objects) u) <> cardinality(p_objects) THEN
        RAISE EXCEPTION 'an object appears twice in the list of task %', p_task;
    END IF;
    SELECT * INTO t FROM tasks WHERE task_id = p_task;
    PERFORM log_append('draw', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draws (task_id, draw_idx, drawn_by) VALUES (p_task, p_idx, p_actor);
    INSERT INTO task_lists (task_id, directory, draw_year, objects, strata)
    VALUES (p_task, t.directory, extract(year FROM t.draw_date)::integer, p_objects, p_strata);
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'drawn', p_actor, 'drawn: list locked (leaf ' || p_idx || ')');
    RETURN draw_act_done(p_actor, p_key, 'draw.run', p_request_sha256, '', p_task, p_idx, p_leaf,
                         jsonb_build_object('objects', cardinality(p_objects)), '{}');
END $$;


-- The open's snapshots arrive as one bytea with their lengths instead of a
-- text[]: an array of 80 MB of text costs PostgreSQL more to receive than
-- the same bytes as one value (each snapshot is still checked to be UTF-8).
DROP FUNCTION draw_open_commit(text, text, text, text, text, integer, bytea, text[], text[], bytea[],
                               text[], bytea, bytea, bytea, bigint, bytea, text);
CREATE FUNCTION draw_open_commit(p_actor text, p_key text, p_request_sha256 text, p_prefix text,
                                 p_task text, p_task_version integer, p_r bytea, p_witnesses text[],
                                 p_names text[], p_digests bytea[], p_data bytea,
                                 p_lengths integer[],
                                 p_record bytea, p_sig bytea, p_leaf bytea, p_idx bigint,
                                 p_root bytea, p_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior jsonb;
    t tasks%ROWTYPE;
    i integer;
    off integer := 1;
BEGIN
    prior := idempotency_prior(p_actor, p_key, 'draw.open', p_request_sha256);
    IF prior IS NOT NULL THEN
        RETURN (prior->>'idx')::bigint;
    END IF;
    PERFORM draw_may_run(p_actor, p_task, p_prefix);
    PERFORM pg_advisory_xact_lock(hashtext('task:' || p_task));
    SELECT * INTO t FROM tasks WHERE task_id = p_task;
    IF t.state <> 'open' OR t.version <> p_task_version THEN
        PERFORM ss_bad('task ' || p_task || ' changed while its draw was being opened (now ' ||
                       t.state || ', version ' || t.version || '); try again',
                       '开启抽取期间任务 ' || p_task || ' 已变化（现为 ' || t.state || '，第 ' ||
                       t.version || ' 版），请重试', 'draw.task_id');
    END IF;
    PERFORM log_append('draw-open', p_task, p_record, p_sig, p_leaf, p_idx, p_root, p_note);
    INSERT INTO draw_opens (task_id, task_version, open_idx, r, witnesses, opened_by)
    VALUES (p_task, p_task_version, p_idx, p_r, p_witnesses, p_actor);
    IF cardinality(p_lengths) <> cardinality(p_names)
       OR (SELECT sum(l) FROM unnest(p_lengths) l) <> length(p_data) THEN
        RAISE EXCEPTION 'the snapshots'' lengths do not add up to their data';
    END IF;
    FOR i IN 1 .. array_length(p_names, 1) LOOP
        INSERT INTO draw_snapshots (task_id, part, ordinal, name, digest, data)
        VALUES (p_task, CASE WHEN i = array_length(p_names, 1) - 1 THEN 'pool'
                             WHEN i = array_length(p_names, 1) THEN 'conflicts' ELSE 'stratum' END,
                CASE WHEN i >= array_length(p_names, 1) - 1 THEN 0 ELSE i - 1 END,
                p_names[i], p_digests[i],
                convert_from(substring(p_data FROM off FOR p_lengths[i]), 'UTF8'));
        off := off + p_lengths[i];
    END LOOP;
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'frozen', p_actor, 'draw opened: population frozen (leaf ' || p_idx || ')');
    RETURN draw_act_done(p_actor, p_key, 'draw.open', p_request_sha256, '', p_task, p_idx, p_leaf,
                         jsonb_build_object('witnesses', p_witnesses), '{}');
END $$;

REVOKE EXECUTE ON FUNCTION draw_open_commit(text, text, text, text, text, integer, bytea, text[],
    text[], bytea[], bytea, integer[], bytea, bytea, bytea, bigint, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION draw_open_commit(text, text, text, text, text, integer, bytea, text[],
    text[], bytea[], bytea, integer[], bytea, bytea, bytea, bigint, bytea, text) TO shuangsui_app;
