-- Whether the gradingform_btec plugin's tables exist (an error when they do not).
SELECT COUNT(*) FROM {prefix}gradingform_btec_fillings WHERE id < 0
