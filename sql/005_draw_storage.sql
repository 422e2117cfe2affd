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

-- Locking a list of 200,000 objects spent half its time maintaining this
-- index, which no query needs: the annual cap and the oversight figures
-- read the year's lists whole (hash aggregates), and a single object of a
-- list is found through the primary key (task_id, object_id).
DROP INDEX task_list_object;

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
