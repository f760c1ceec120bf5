-- How wal2json_capture.jsonl was produced (PostgreSQL 15.20, wal2json 2.5):
--   CRDBSIM_ENV_NO_SIM=1 tests/crdbsim/crdbsim-env sh -c 'psql "$PG_DSN" -qAt -f tests/crdbsim/cases/wal2json_capture.sql' \
--     | grep '"action":"[IUD]"' > tests/crdbsim/cases/wal2json_capture.jsonl
CREATE TYPE mood AS ENUM ('sad','ok','happy');
CREATE TABLE t (id int8 PRIMARY KEY, k2 text, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, n2 numeric(10,2),
 s text, vc varchar(10), ch char(3), by bytea, d date, tm time, ts timestamp, tstz timestamptz, iv interval, u uuid, ip inet,
 j jsonb, js json, ai int4[], at text[], ai8 int8[], an numeric[], ats timestamptz[], e mood, ae mood[], bt bit(4), vb varbit, o oid, ttz timetz, nm name);
SELECT 'init' FROM pg_create_logical_replication_slot('s','wal2json');
INSERT INTO t (id,k2,b,i2,i4,i8,f4,f8,n,n2,s,vc,ch,by,d,tm,ts,tstz,iv,u,ip,j,js,ai,at,ai8,an,ats,e,ae,bt,vb,o,ttz,nm) VALUES
 (1,'x',true,-32768,2147483647,9007199254740993,1.1,0.1,22.30,22.3,'bar','v','ab','\x0102','2024-01-02','03:04:05.123','2019-01-02 03:04:05','2024-01-02 03:04:05.123456+00',
  '1 year 2 days 03:04:05','e2cfe34d-4ca8-420b-ae70-64a9a799e282','192.168.1.1/24','{"b":[1,2.50,"x"],"a":null,"aa":{"z":true}}','{"b":1, "a":2}',
  '{1,NULL,2}','{"a b",NULL,"q\"x",NULL}','{9007199254740993}','{1.50,NaN}','{"2024-01-02 03:04:05+00"}','happy','{sad,ok}','1010','101','12345','03:04:05+02','nm');
INSERT INTO t (id,f4,f8,n,s,by,d,ts,tstz,iv,ip,j) VALUES
 (2,'NaN','Infinity','NaN',E'q"\\\n\r\t\x01<>&é\u2028','\x','1192-09-04 BC','1192-09-04 12:30:00 BC','1192-09-04 12:30:00+00 BC','-1 mons -3 days 00:00:01.5','10.0.0.1','"str"'),
 (3,'-Infinity','-Infinity','-12345678901234567890.000100',NULL,NULL,'infinity','2019-01-02 03:04:05.1','2024-01-02 03:04:05+00','00:00:00','::1/128','[1,{"b\u0001":"\u00e9\n"}, 1e2, -0.0001, 1.0e-7]'),
 (4,NULL,1e20,0.0000001,NULL,NULL,'5874000-01-01','2019-01-02 03:04:05.000001','2024-01-02 03:04:05.1+00','1 day','10.0.0.0/8','null'),
 (5,NULL,100,100.0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'12.50');
UPDATE t SET s='new' WHERE id=1;
DELETE FROM t WHERE id=5;
SET timezone='Europe/Paris';
SELECT data FROM pg_logical_slot_peek_changes('s', NULL, NULL, 'format-version','2','include-xids','1','include-timestamp','1','include-pk','1','include-lsn','1');


-- Part 2 (appended as the last record): arrays of floats, bytea, jsonb, interval, uuid.
CREATE TABLE t2 (id int PRIMARY KEY, fa float8[], ra real[], ba bytea[], ja jsonb[], ia interval[], ua uuid[]);
SELECT 'init' FROM pg_create_logical_replication_slot('s2','wal2json');
INSERT INTO t2 VALUES (1, '{1.5,Infinity,-Infinity,NaN,100,NULL}', '{0.1,NaN}', '{"\\x0102",NULL}', ARRAY['{"b":1,"a":2}'::jsonb, 'null'::jsonb], '{"1 day","-00:00:01"}', '{e2cfe34d-4ca8-420b-ae70-64a9a799e282}');
SELECT data FROM pg_logical_slot_peek_changes('s2', NULL, NULL, 'format-version','2','include-xids','1','include-timestamp','1','include-pk','1','include-lsn','1');
