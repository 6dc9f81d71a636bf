-- The same Moodle 4.5 tables as on MariaDB, in the shape Moodle's XMLDB generator gives them on PostgreSQL:
-- BIGSERIAL ids, BIGINT/SMALLINT/INTEGER integers, VARCHAR, TEXT, NUMERIC; no foreign keys; every index
-- (unique ones included) under the same prefixed name as on MariaDB. Demo and benchmark only.

DROP TABLE IF EXISTS {prefix}config;
CREATE TABLE {prefix}config (
    id BIGSERIAL,
    name VARCHAR(255) NOT NULL DEFAULT '',
    value TEXT NOT NULL,
    CONSTRAINT {prefix}conf_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}conf_nam_uix ON {prefix}config (name);

DROP TABLE IF EXISTS {prefix}user;
CREATE TABLE {prefix}user (
    id BIGSERIAL,
    auth VARCHAR(20) NOT NULL DEFAULT 'manual',
    confirmed SMALLINT NOT NULL DEFAULT 0,
    policyagreed SMALLINT NOT NULL DEFAULT 0,
    deleted SMALLINT NOT NULL DEFAULT 0,
    suspended SMALLINT NOT NULL DEFAULT 0,
    mnethostid BIGINT NOT NULL DEFAULT 0,
    username VARCHAR(100) NOT NULL DEFAULT '',
    password VARCHAR(255) NOT NULL DEFAULT '',
    idnumber VARCHAR(255) NOT NULL DEFAULT '',
    firstname VARCHAR(100) NOT NULL DEFAULT '',
    lastname VARCHAR(100) NOT NULL DEFAULT '',
    email VARCHAR(100) NOT NULL DEFAULT '',
    emailstop SMALLINT NOT NULL DEFAULT 0,
    phone1 VARCHAR(20) NOT NULL DEFAULT '',
    phone2 VARCHAR(20) NOT NULL DEFAULT '',
    institution VARCHAR(255) NOT NULL DEFAULT '',
    department VARCHAR(255) NOT NULL DEFAULT '',
    address VARCHAR(255) NOT NULL DEFAULT '',
    city VARCHAR(120) NOT NULL DEFAULT '',
    country VARCHAR(2) NOT NULL DEFAULT '',
    lang VARCHAR(30) NOT NULL DEFAULT 'en',
    calendartype VARCHAR(30) NOT NULL DEFAULT 'gregorian',
    theme VARCHAR(50) NOT NULL DEFAULT '',
    timezone VARCHAR(100) NOT NULL DEFAULT '99',
    firstaccess BIGINT NOT NULL DEFAULT 0,
    lastaccess BIGINT NOT NULL DEFAULT 0,
    lastlogin BIGINT NOT NULL DEFAULT 0,
    currentlogin BIGINT NOT NULL DEFAULT 0,
    lastip VARCHAR(45) NOT NULL DEFAULT '',
    secret VARCHAR(15) NOT NULL DEFAULT '',
    picture BIGINT NOT NULL DEFAULT 0,
    description TEXT,
    descriptionformat SMALLINT NOT NULL DEFAULT 1,
    mailformat SMALLINT NOT NULL DEFAULT 1,
    maildigest SMALLINT NOT NULL DEFAULT 0,
    maildisplay SMALLINT NOT NULL DEFAULT 2,
    autosubscribe SMALLINT NOT NULL DEFAULT 1,
    trackforums SMALLINT NOT NULL DEFAULT 0,
    timecreated BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    trustbitmask BIGINT NOT NULL DEFAULT 0,
    imagealt VARCHAR(255),
    lastnamephonetic VARCHAR(255),
    firstnamephonetic VARCHAR(255),
    middlename VARCHAR(255),
    alternatename VARCHAR(255),
    moodlenetprofile VARCHAR(255),
    CONSTRAINT {prefix}user_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}user_mneuse_uix ON {prefix}user (mnethostid, username);
CREATE INDEX {prefix}user_del_ix ON {prefix}user (deleted);
CREATE INDEX {prefix}user_con_ix ON {prefix}user (confirmed);
CREATE INDEX {prefix}user_fir_ix ON {prefix}user (firstname);
CREATE INDEX {prefix}user_las_ix ON {prefix}user (lastname);
CREATE INDEX {prefix}user_cit_ix ON {prefix}user (city);
CREATE INDEX {prefix}user_cou_ix ON {prefix}user (country);
CREATE INDEX {prefix}user_las2_ix ON {prefix}user (lastaccess);
CREATE INDEX {prefix}user_ema_ix ON {prefix}user (email);
CREATE INDEX {prefix}user_aut_ix ON {prefix}user (auth);
CREATE INDEX {prefix}user_idn_ix ON {prefix}user (idnumber);
CREATE INDEX {prefix}user_fir2_ix ON {prefix}user (firstnamephonetic);
CREATE INDEX {prefix}user_las3_ix ON {prefix}user (lastnamephonetic);
CREATE INDEX {prefix}user_mid_ix ON {prefix}user (middlename);
CREATE INDEX {prefix}user_alt_ix ON {prefix}user (alternatename);

DROP TABLE IF EXISTS {prefix}role;
CREATE TABLE {prefix}role (
    id BIGSERIAL,
    name VARCHAR(255) NOT NULL DEFAULT '',
    shortname VARCHAR(100) NOT NULL DEFAULT '',
    description TEXT NOT NULL,
    sortorder BIGINT NOT NULL DEFAULT 0,
    archetype VARCHAR(30) NOT NULL DEFAULT '',
    CONSTRAINT {prefix}role_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}role_sor_uix ON {prefix}role (sortorder);
CREATE UNIQUE INDEX {prefix}role_sho_uix ON {prefix}role (shortname);

DROP TABLE IF EXISTS {prefix}role_assignments;
CREATE TABLE {prefix}role_assignments (
    id BIGSERIAL,
    roleid BIGINT NOT NULL DEFAULT 0,
    contextid BIGINT NOT NULL DEFAULT 0,
    userid BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    modifierid BIGINT NOT NULL DEFAULT 0,
    component VARCHAR(100) NOT NULL DEFAULT '',
    itemid BIGINT NOT NULL DEFAULT 0,
    sortorder BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT {prefix}roleassi_id_pk PRIMARY KEY (id)
);
CREATE INDEX {prefix}roleassi_sor_ix ON {prefix}role_assignments (sortorder);
CREATE INDEX {prefix}roleassi_rolcon_ix ON {prefix}role_assignments (roleid, contextid);
CREATE INDEX {prefix}roleassi_useconrol_ix ON {prefix}role_assignments (userid, contextid, roleid);
CREATE INDEX {prefix}roleassi_comiteuse_ix ON {prefix}role_assignments (component, itemid, userid);
CREATE INDEX {prefix}roleassi_rol_ix ON {prefix}role_assignments (roleid);
CREATE INDEX {prefix}roleassi_con_ix ON {prefix}role_assignments (contextid);
CREATE INDEX {prefix}roleassi_use_ix ON {prefix}role_assignments (userid);

DROP TABLE IF EXISTS {prefix}context;
CREATE TABLE {prefix}context (
    id BIGSERIAL,
    contextlevel BIGINT NOT NULL DEFAULT 0,
    instanceid BIGINT NOT NULL DEFAULT 0,
    path VARCHAR(255),
    depth SMALLINT NOT NULL DEFAULT 0,
    locked SMALLINT NOT NULL DEFAULT 0,
    CONSTRAINT {prefix}cont_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}cont_conins_uix ON {prefix}context (contextlevel, instanceid);
CREATE INDEX {prefix}cont_ins_ix ON {prefix}context (instanceid);
CREATE INDEX {prefix}cont_pat_ix ON {prefix}context (path);

DROP TABLE IF EXISTS {prefix}course;
CREATE TABLE {prefix}course (
    id BIGSERIAL,
    category BIGINT NOT NULL DEFAULT 0,
    sortorder BIGINT NOT NULL DEFAULT 0,
    fullname VARCHAR(254) NOT NULL DEFAULT '',
    shortname VARCHAR(255) NOT NULL DEFAULT '',
    idnumber VARCHAR(100) NOT NULL DEFAULT '',
    summary TEXT,
    summaryformat SMALLINT NOT NULL DEFAULT 0,
    format VARCHAR(21) NOT NULL DEFAULT 'topics',
    showgrades SMALLINT NOT NULL DEFAULT 1,
    newsitems INTEGER NOT NULL DEFAULT 1,
    startdate BIGINT NOT NULL DEFAULT 0,
    enddate BIGINT NOT NULL DEFAULT 0,
    relativedatesmode SMALLINT NOT NULL DEFAULT 0,
    marker BIGINT NOT NULL DEFAULT 0,
    maxbytes BIGINT NOT NULL DEFAULT 0,
    legacyfiles SMALLINT NOT NULL DEFAULT 0,
    showreports SMALLINT NOT NULL DEFAULT 0,
    visible SMALLINT NOT NULL DEFAULT 1,
    visibleold SMALLINT NOT NULL DEFAULT 1,
    downloadcontent SMALLINT,
    groupmode SMALLINT NOT NULL DEFAULT 0,
    groupmodeforce SMALLINT NOT NULL DEFAULT 0,
    defaultgroupingid BIGINT NOT NULL DEFAULT 0,
    lang VARCHAR(30) NOT NULL DEFAULT '',
    calendartype VARCHAR(30) NOT NULL DEFAULT '',
    theme VARCHAR(50) NOT NULL DEFAULT '',
    timecreated BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    requested SMALLINT NOT NULL DEFAULT 0,
    enablecompletion SMALLINT NOT NULL DEFAULT 0,
    completionnotify SMALLINT NOT NULL DEFAULT 0,
    cacherev BIGINT NOT NULL DEFAULT 0,
    originalcourseid BIGINT,
    showactivitydates SMALLINT NOT NULL DEFAULT 0,
    showcompletionconditions SMALLINT,
    pdfexportfont VARCHAR(50),
    CONSTRAINT {prefix}cour_id_pk PRIMARY KEY (id)
);
CREATE INDEX {prefix}cour_cat_ix ON {prefix}course (category);
CREATE INDEX {prefix}cour_idn_ix ON {prefix}course (idnumber);
CREATE INDEX {prefix}cour_sho_ix ON {prefix}course (shortname);
CREATE INDEX {prefix}cour_sor_ix ON {prefix}course (sortorder);
CREATE INDEX {prefix}cour_ori_ix ON {prefix}course (originalcourseid);

DROP TABLE IF EXISTS {prefix}enrol;
CREATE TABLE {prefix}enrol (
    id BIGSERIAL,
    enrol VARCHAR(20) NOT NULL DEFAULT '',
    status BIGINT NOT NULL DEFAULT 0,
    courseid BIGINT NOT NULL,
    sortorder BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255),
    enrolperiod BIGINT DEFAULT 0,
    enrolstartdate BIGINT DEFAULT 0,
    enrolenddate BIGINT DEFAULT 0,
    expirynotify SMALLINT DEFAULT 0,
    expirythreshold BIGINT DEFAULT 0,
    notifyall SMALLINT DEFAULT 0,
    password VARCHAR(50),
    cost VARCHAR(20),
    currency VARCHAR(3),
    roleid BIGINT DEFAULT 0,
    customint1 BIGINT,
    customint2 BIGINT,
    customint3 BIGINT,
    customint4 BIGINT,
    customint5 BIGINT,
    customint6 BIGINT,
    customint7 BIGINT,
    customint8 BIGINT,
    customchar1 VARCHAR(255),
    customchar2 VARCHAR(255),
    customchar3 VARCHAR(1333),
    customdec1 NUMERIC(12,7),
    customdec2 NUMERIC(12,7),
    customtext1 TEXT,
    customtext2 TEXT,
    customtext3 TEXT,
    customtext4 TEXT,
    timecreated BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT {prefix}enro_id_pk PRIMARY KEY (id)
);
CREATE INDEX {prefix}enro_enr_ix ON {prefix}enrol (enrol);
CREATE INDEX {prefix}enro_cou_ix ON {prefix}enrol (courseid);
CREATE INDEX {prefix}enro_rol_ix ON {prefix}enrol (roleid);

DROP TABLE IF EXISTS {prefix}user_enrolments;
CREATE TABLE {prefix}user_enrolments (
    id BIGSERIAL,
    status BIGINT NOT NULL DEFAULT 0,
    enrolid BIGINT NOT NULL,
    userid BIGINT NOT NULL,
    timestart BIGINT NOT NULL DEFAULT 0,
    timeend BIGINT NOT NULL DEFAULT 2147483647,
    modifierid BIGINT NOT NULL DEFAULT 0,
    timecreated BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT {prefix}userenro_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}userenro_enruse_uix ON {prefix}user_enrolments (enrolid, userid);
CREATE INDEX {prefix}userenro_enr_ix ON {prefix}user_enrolments (enrolid);
CREATE INDEX {prefix}userenro_use_ix ON {prefix}user_enrolments (userid);
CREATE INDEX {prefix}userenro_mod_ix ON {prefix}user_enrolments (modifierid);

DROP TABLE IF EXISTS {prefix}grade_items;
CREATE TABLE {prefix}grade_items (
    id BIGSERIAL,
    courseid BIGINT,
    categoryid BIGINT,
    itemname VARCHAR(255),
    itemtype VARCHAR(30) NOT NULL DEFAULT '',
    itemmodule VARCHAR(30),
    iteminstance BIGINT,
    itemnumber BIGINT,
    iteminfo TEXT,
    idnumber VARCHAR(255),
    calculation TEXT,
    gradetype SMALLINT NOT NULL DEFAULT 1,
    grademax NUMERIC(10,5) NOT NULL DEFAULT 100.00000,
    grademin NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    scaleid BIGINT,
    outcomeid BIGINT,
    gradepass NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    multfactor NUMERIC(10,5) NOT NULL DEFAULT 1.00000,
    plusfactor NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    aggregationcoef NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    aggregationcoef2 NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    sortorder BIGINT NOT NULL DEFAULT 0,
    display BIGINT NOT NULL DEFAULT 0,
    decimals SMALLINT,
    hidden BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    locktime BIGINT NOT NULL DEFAULT 0,
    needsupdate BIGINT NOT NULL DEFAULT 0,
    weightoverride SMALLINT NOT NULL DEFAULT 0,
    timecreated BIGINT,
    timemodified BIGINT,
    CONSTRAINT {prefix}graditem_id_pk PRIMARY KEY (id)
);
CREATE INDEX {prefix}graditem_locloc_ix ON {prefix}grade_items (locked, locktime);
CREATE INDEX {prefix}graditem_itenee_ix ON {prefix}grade_items (itemtype, needsupdate);
CREATE INDEX {prefix}graditem_gra_ix ON {prefix}grade_items (gradetype);
CREATE INDEX {prefix}graditem_idncou_ix ON {prefix}grade_items (idnumber, courseid);
CREATE INDEX {prefix}graditem_iteiteitecou_ix ON {prefix}grade_items (itemtype, itemmodule, iteminstance, courseid);
CREATE INDEX {prefix}graditem_cou_ix ON {prefix}grade_items (courseid);
CREATE INDEX {prefix}graditem_cat_ix ON {prefix}grade_items (categoryid);
CREATE INDEX {prefix}graditem_sca_ix ON {prefix}grade_items (scaleid);
CREATE INDEX {prefix}graditem_out_ix ON {prefix}grade_items (outcomeid);

DROP TABLE IF EXISTS {prefix}grade_grades;
CREATE TABLE {prefix}grade_grades (
    id BIGSERIAL,
    itemid BIGINT NOT NULL,
    userid BIGINT NOT NULL,
    rawgrade NUMERIC(10,5),
    rawgrademax NUMERIC(10,5) NOT NULL DEFAULT 100.00000,
    rawgrademin NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    rawscaleid BIGINT,
    usermodified BIGINT,
    finalgrade NUMERIC(10,5),
    hidden BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    locktime BIGINT NOT NULL DEFAULT 0,
    exported BIGINT NOT NULL DEFAULT 0,
    overridden BIGINT NOT NULL DEFAULT 0,
    excluded BIGINT NOT NULL DEFAULT 0,
    feedback TEXT,
    feedbackformat BIGINT NOT NULL DEFAULT 0,
    information TEXT,
    informationformat BIGINT NOT NULL DEFAULT 0,
    timecreated BIGINT,
    timemodified BIGINT,
    aggregationstatus VARCHAR(10) NOT NULL DEFAULT 'unknown',
    aggregationweight NUMERIC(10,5),
    CONSTRAINT {prefix}gradgrad_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}gradgrad_useite_uix ON {prefix}grade_grades (userid, itemid);
CREATE INDEX {prefix}gradgrad_locloc_ix ON {prefix}grade_grades (locked, locktime);
CREATE INDEX {prefix}gradgrad_ite_ix ON {prefix}grade_grades (itemid);
CREATE INDEX {prefix}gradgrad_use_ix ON {prefix}grade_grades (userid);
CREATE INDEX {prefix}gradgrad_raw_ix ON {prefix}grade_grades (rawscaleid);
CREATE INDEX {prefix}gradgrad_use2_ix ON {prefix}grade_grades (usermodified);

DROP TABLE IF EXISTS {prefix}grade_grades_history;
CREATE TABLE {prefix}grade_grades_history (
    id BIGSERIAL,
    action BIGINT NOT NULL DEFAULT 0,
    oldid BIGINT NOT NULL,
    source VARCHAR(255),
    timemodified BIGINT,
    loggeduser BIGINT,
    itemid BIGINT NOT NULL,
    userid BIGINT NOT NULL,
    rawgrade NUMERIC(10,5),
    rawgrademax NUMERIC(10,5) NOT NULL DEFAULT 100.00000,
    rawgrademin NUMERIC(10,5) NOT NULL DEFAULT 0.00000,
    rawscaleid BIGINT,
    usermodified BIGINT,
    finalgrade NUMERIC(10,5),
    hidden BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    locktime BIGINT NOT NULL DEFAULT 0,
    exported BIGINT NOT NULL DEFAULT 0,
    overridden BIGINT NOT NULL DEFAULT 0,
    excluded BIGINT NOT NULL DEFAULT 0,
    feedback TEXT,
    feedbackformat BIGINT NOT NULL DEFAULT 0,
    information TEXT,
    informationformat BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT {prefix}gradgradhist_id_pk PRIMARY KEY (id)
);
CREATE INDEX {prefix}gradgradhist_act_ix ON {prefix}grade_grades_history (action);
CREATE INDEX {prefix}gradgradhist_tim_ix ON {prefix}grade_grades_history (timemodified);
CREATE INDEX {prefix}gradgradhist_useitetim_ix ON {prefix}grade_grades_history (userid, itemid, timemodified);
CREATE INDEX {prefix}gradgradhist_old_ix ON {prefix}grade_grades_history (oldid);
CREATE INDEX {prefix}gradgradhist_ite_ix ON {prefix}grade_grades_history (itemid);
CREATE INDEX {prefix}gradgradhist_use_ix ON {prefix}grade_grades_history (userid);
CREATE INDEX {prefix}gradgradhist_raw_ix ON {prefix}grade_grades_history (rawscaleid);
CREATE INDEX {prefix}gradgradhist_use2_ix ON {prefix}grade_grades_history (usermodified);
CREATE INDEX {prefix}gradgradhist_log_ix ON {prefix}grade_grades_history (loggeduser);

DROP TABLE IF EXISTS {prefix}scale;
CREATE TABLE {prefix}scale (
    id BIGSERIAL,
    courseid BIGINT NOT NULL DEFAULT 0,
    userid BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255) NOT NULL DEFAULT '',
    scale TEXT NOT NULL,
    description TEXT NOT NULL,
    descriptionformat SMALLINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT {prefix}scal_id_pk PRIMARY KEY (id)
);
CREATE INDEX {prefix}scal_cou_ix ON {prefix}scale (courseid);
CREATE INDEX {prefix}scal_use_ix ON {prefix}scale (userid);

-- The grade's display (issue 11): assignments, their grades and marking workflow flags, grade letters,
-- course modules and the advanced grading areas and definitions (empty in the demo unless a scenario fills them).

DROP TABLE IF EXISTS {prefix}assign;
CREATE TABLE {prefix}assign (
    id BIGSERIAL,
    course BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255) NOT NULL DEFAULT '',
    intro TEXT NOT NULL,
    introformat SMALLINT NOT NULL DEFAULT 0,
    alwaysshowdescription SMALLINT NOT NULL DEFAULT 0,
    nosubmissions SMALLINT NOT NULL DEFAULT 0,
    submissiondrafts SMALLINT NOT NULL DEFAULT 0,
    sendnotifications SMALLINT NOT NULL DEFAULT 0,
    sendlatenotifications SMALLINT NOT NULL DEFAULT 0,
    duedate BIGINT NOT NULL DEFAULT 0,
    allowsubmissionsfromdate BIGINT NOT NULL DEFAULT 0,
    grade BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    requiresubmissionstatement SMALLINT NOT NULL DEFAULT 0,
    completionsubmit SMALLINT NOT NULL DEFAULT 0,
    cutoffdate BIGINT NOT NULL DEFAULT 0,
    gradingduedate BIGINT NOT NULL DEFAULT 0,
    teamsubmission SMALLINT NOT NULL DEFAULT 0,
    requireallteammemberssubmit SMALLINT NOT NULL DEFAULT 0,
    teamsubmissiongroupingid BIGINT NOT NULL DEFAULT 0,
    blindmarking SMALLINT NOT NULL DEFAULT 0,
    hidegrader SMALLINT NOT NULL DEFAULT 0,
    revealidentities SMALLINT NOT NULL DEFAULT 0,
    attemptreopenmethod VARCHAR(10) NOT NULL DEFAULT 'untilpass',
    maxattempts INTEGER NOT NULL DEFAULT 1,
    markingworkflow SMALLINT NOT NULL DEFAULT 0,
    markingallocation SMALLINT NOT NULL DEFAULT 0,
    markinganonymous SMALLINT NOT NULL DEFAULT 0,
    sendstudentnotifications SMALLINT NOT NULL DEFAULT 1,
    preventsubmissionnotingroup SMALLINT NOT NULL DEFAULT 0,
    activity TEXT,
    activityformat SMALLINT NOT NULL DEFAULT 0,
    timelimit BIGINT NOT NULL DEFAULT 0,
    submissionattachments SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX {prefix}assi_cou_ix ON {prefix}assign (course);
CREATE INDEX {prefix}assi_tea_ix ON {prefix}assign (teamsubmissiongroupingid);

DROP TABLE IF EXISTS {prefix}assign_grades;
CREATE TABLE {prefix}assign_grades (
    id BIGSERIAL,
    assignment BIGINT NOT NULL DEFAULT 0,
    userid BIGINT NOT NULL DEFAULT 0,
    timecreated BIGINT NOT NULL DEFAULT 0,
    timemodified BIGINT NOT NULL DEFAULT 0,
    grader BIGINT NOT NULL DEFAULT 0,
    grade NUMERIC(10,5) DEFAULT 0.00000,
    attemptnumber BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}assigrad_assuseatt_uix ON {prefix}assign_grades (assignment, userid, attemptnumber);
CREATE INDEX {prefix}assigrad_ass_ix ON {prefix}assign_grades (assignment);
CREATE INDEX {prefix}assigrad_att_ix ON {prefix}assign_grades (attemptnumber);
CREATE INDEX {prefix}assigrad_use_ix ON {prefix}assign_grades (userid);

DROP TABLE IF EXISTS {prefix}assign_user_flags;
CREATE TABLE {prefix}assign_user_flags (
    id BIGSERIAL,
    userid BIGINT NOT NULL DEFAULT 0,
    assignment BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    mailed SMALLINT NOT NULL DEFAULT 0,
    extensionduedate BIGINT NOT NULL DEFAULT 0,
    workflowstate VARCHAR(20),
    allocatedmarker BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX {prefix}assiuserflag_ass_ix ON {prefix}assign_user_flags (assignment);
CREATE INDEX {prefix}assiuserflag_mai_ix ON {prefix}assign_user_flags (mailed);
CREATE INDEX {prefix}assiuserflag_use_ix ON {prefix}assign_user_flags (userid);

DROP TABLE IF EXISTS {prefix}grade_letters;
CREATE TABLE {prefix}grade_letters (
    id BIGSERIAL,
    contextid BIGINT NOT NULL,
    lowerboundary NUMERIC(10,5) NOT NULL,
    letter VARCHAR(255) NOT NULL DEFAULT '',
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}gradlett_conlowlet_uix ON {prefix}grade_letters (contextid, lowerboundary, letter);

DROP TABLE IF EXISTS {prefix}modules;
CREATE TABLE {prefix}modules (
    id BIGSERIAL,
    name VARCHAR(20) NOT NULL DEFAULT '',
    cron BIGINT NOT NULL DEFAULT 0,
    lastcron BIGINT NOT NULL DEFAULT 0,
    search VARCHAR(255) NOT NULL DEFAULT '',
    visible SMALLINT NOT NULL DEFAULT 1,
    PRIMARY KEY (id)
);
CREATE INDEX {prefix}modu_nam_ix ON {prefix}modules (name);

DROP TABLE IF EXISTS {prefix}course_modules;
CREATE TABLE {prefix}course_modules (
    id BIGSERIAL,
    course BIGINT NOT NULL DEFAULT 0,
    module BIGINT NOT NULL DEFAULT 0,
    instance BIGINT NOT NULL DEFAULT 0,
    section BIGINT NOT NULL DEFAULT 0,
    idnumber VARCHAR(100),
    added BIGINT NOT NULL DEFAULT 0,
    score SMALLINT NOT NULL DEFAULT 0,
    indent INTEGER NOT NULL DEFAULT 0,
    visible SMALLINT NOT NULL DEFAULT 1,
    visibleoncoursepage SMALLINT NOT NULL DEFAULT 1,
    visibleold SMALLINT NOT NULL DEFAULT 1,
    groupmode SMALLINT NOT NULL DEFAULT 0,
    groupingid BIGINT NOT NULL DEFAULT 0,
    completion SMALLINT NOT NULL DEFAULT 0,
    completiongradeitemnumber BIGINT,
    completionview SMALLINT NOT NULL DEFAULT 0,
    completionexpected BIGINT NOT NULL DEFAULT 0,
    completionpassgrade SMALLINT NOT NULL DEFAULT 0,
    showdescription SMALLINT NOT NULL DEFAULT 0,
    availability TEXT,
    deletioninprogress SMALLINT NOT NULL DEFAULT 0,
    downloadcontent SMALLINT DEFAULT 1,
    lang VARCHAR(30),
    PRIMARY KEY (id)
);
CREATE INDEX {prefix}courmodu_cou_ix ON {prefix}course_modules (course);
CREATE INDEX {prefix}courmodu_gro_ix ON {prefix}course_modules (groupingid);
CREATE INDEX {prefix}courmodu_idncou_ix ON {prefix}course_modules (idnumber, course);
CREATE INDEX {prefix}courmodu_ins_ix ON {prefix}course_modules (instance);
CREATE INDEX {prefix}courmodu_mod_ix ON {prefix}course_modules (module);
CREATE INDEX {prefix}courmodu_vis_ix ON {prefix}course_modules (visible);

DROP TABLE IF EXISTS {prefix}grading_areas;
CREATE TABLE {prefix}grading_areas (
    id BIGSERIAL,
    contextid BIGINT NOT NULL,
    component VARCHAR(100) NOT NULL DEFAULT '',
    areaname VARCHAR(100) NOT NULL DEFAULT '',
    activemethod VARCHAR(100),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}gradarea_concomare_uix ON {prefix}grading_areas (contextid, component, areaname);
CREATE INDEX {prefix}gradarea_con_ix ON {prefix}grading_areas (contextid);

DROP TABLE IF EXISTS {prefix}grading_definitions;
CREATE TABLE {prefix}grading_definitions (
    id BIGSERIAL,
    areaid BIGINT NOT NULL,
    method VARCHAR(100) NOT NULL DEFAULT '',
    name VARCHAR(255) NOT NULL DEFAULT '',
    description TEXT,
    descriptionformat SMALLINT,
    status BIGINT NOT NULL DEFAULT 0,
    copiedfromid BIGINT,
    timecreated BIGINT NOT NULL,
    usercreated BIGINT NOT NULL,
    timemodified BIGINT NOT NULL,
    usermodified BIGINT NOT NULL,
    timecopied BIGINT DEFAULT 0,
    options TEXT,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}graddefi_aremet_uix ON {prefix}grading_definitions (areaid, method);
CREATE INDEX {prefix}graddefi_are_ix ON {prefix}grading_definitions (areaid);
CREATE INDEX {prefix}graddefi_use2_ix ON {prefix}grading_definitions (usercreated);
CREATE INDEX {prefix}graddefi_use_ix ON {prefix}grading_definitions (usermodified);

-- Plugin settings: tool_log | enabled_stores says whether the standard log below is written at all.
DROP TABLE IF EXISTS {prefix}config_plugins;
CREATE TABLE {prefix}config_plugins (
    id BIGSERIAL,
    plugin VARCHAR(100) NOT NULL DEFAULT 'core',
    name VARCHAR(100) NOT NULL DEFAULT '',
    value TEXT NOT NULL,
    CONSTRAINT {prefix}confplug_id_pk PRIMARY KEY (id)
);
CREATE UNIQUE INDEX {prefix}confplug_plunam_uix ON {prefix}config_plugins (plugin, name);

-- The standard log store: one row per event, append-only (the incremental sync's change feed, issue 12).
DROP TABLE IF EXISTS {prefix}logstore_standard_log;
CREATE TABLE {prefix}logstore_standard_log (
    id BIGSERIAL,
    eventname VARCHAR(255) NOT NULL DEFAULT '',
    component VARCHAR(100) NOT NULL DEFAULT '',
    action VARCHAR(100) NOT NULL DEFAULT '',
    target VARCHAR(100) NOT NULL DEFAULT '',
    objecttable VARCHAR(50),
    objectid BIGINT,
    crud VARCHAR(1) NOT NULL DEFAULT '',
    edulevel SMALLINT NOT NULL,
    contextid BIGINT NOT NULL,
    contextlevel BIGINT NOT NULL,
    contextinstanceid BIGINT NOT NULL,
    userid BIGINT NOT NULL,
    courseid BIGINT,
    relateduserid BIGINT,
    anonymous SMALLINT NOT NULL DEFAULT 0,
    other TEXT,
    timecreated BIGINT NOT NULL,
    origin VARCHAR(10),
    ip VARCHAR(45),
    realuserid BIGINT,
    CONSTRAINT {prefix}logsstanlog_id_pk PRIMARY KEY (id)
);
