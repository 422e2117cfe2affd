-- 006_draw_storage_costs.sql — what storing a large draw costs (issue 5).
--
-- 1. A draw's snapshots are stored packed.
-- A population of 4,000,000 ids is a 76 MB snapshot file.  Sent as text,
-- checked as UTF-8, compressed with lz4 and written, it cost PostgreSQL
-- about 1.7 s, a third of the whole draw.  The server now packs each
-- snapshot file into one zstd frame that states its size (server/snapstore.h)
-- on the draw's worker thread: a third to a fifteenth of the bytes, stored
-- as they come.  The file is the frame's content, byte for byte, and its
-- SHA-256 is the digest stored beside it; the server checks it on every
-- read.  To read one by hand:
--   psql -Atc "SELECT encode(packed, 'base64') FROM draw_snapshots WHERE ..." |
--     base64 -d | zstd -d
-- Snapshots stored before keep their text in data; a row has one form.
ALTER TABLE draw_snapshots ADD COLUMN packed bytea,
                           ALTER COLUMN data DROP NOT NULL,
                           ADD CHECK ((data IS NULL) <> (packed IS NULL));
ALTER TABLE draw_snapshots ALTER COLUMN packed SET STORAGE EXTERNAL;

-- As in 005, but the data are the packed frames, stored in packed.
CREATE OR REPLACE FUNCTION draw_open_commit(p_actor text, p_key text, p_request_sha256 text,
                                 p_prefix text,
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
        INSERT INTO draw_snapshots (task_id, part, ordinal, name, digest, packed)
        VALUES (p_task, CASE WHEN i = array_length(p_names, 1) - 1 THEN 'pool'
                             WHEN i = array_length(p_names, 1) THEN 'conflicts' ELSE 'stratum' END,
                CASE WHEN i >= array_length(p_names, 1) - 1 THEN 0 ELSE i - 1 END,
                p_names[i], p_digests[i], substring(p_data FROM off FOR p_lengths[i]));
        off := off + p_lengths[i];
    END LOOP;
    INSERT INTO task_events (task_id, version, state, actor, reason)
    VALUES (p_task, t.version, 'frozen', p_actor, 'draw opened: population frozen (leaf ' || p_idx || ')');
    RETURN draw_act_done(p_actor, p_key, 'draw.open', p_request_sha256, '', p_task, p_idx, p_leaf,
                         jsonb_build_object('witnesses', p_witnesses), '{}');
END $$;

-- 2. The check that no object is twice in a locked list compares ids
-- byte-wise (COLLATE "C"): under the database's collation, sorting a list
-- of 200,000 ids for it took 190 ms instead of 120.  Otherwise as in 005.
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
    IF (SELECT count(DISTINCT u COLLATE "C") FROM unnest(p_objects) u) <> cardinality(p_objects) THEN
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
