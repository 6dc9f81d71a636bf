SELECT RELEASE_LOCK(CONCAT('msync:', LEFT(SHA1(DATABASE()), 16), ':', %(entity)s))
