/**
 * The ZIP records the package zip uses (PKWARE APPNOTE 6.3.10), shared by the writer and the
 * reader: signatures, fixed lengths, the ZIP64 marker. Only stored entries (method 0) exist here.
 */

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_DESCRIPTOR = 0x08074b50;
export const SIG_END = 0x06054b50;
export const SIG_END64 = 0x06064b50;
export const SIG_LOCATOR64 = 0x07064b50;

export const LOCAL_LEN = 30;
export const CENTRAL_LEN = 46;
export const END_LEN = 22;
export const END64_LEN = 56;
export const LOCATOR64_LEN = 20;
/** ZIP64 extra field id; its header is 4 bytes (id, data length). */
export const EXTRA_ZIP64 = 0x0001;

/** A 32-bit field holding this (a 16-bit one: 0xffff) says "see the ZIP64 record". */
export const MARK32 = 0xffffffff;
export const MARK16 = 0xffff;

export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DESCRIPTOR = 0x0008;
export const FLAG_UTF8 = 0x0800;

export const METHOD_STORED = 0;
