/** Types for mingw.mjs (imported by the TypeScript Wine tests). */
export declare const TOOLS: { readonly cxx: string; readonly cc: string; readonly dlltool: string; readonly objdump: string };
export declare function missingTools(): string[];
export declare function napiPaths(): { include: string[]; def: string };
export declare const STRICT_WARNINGS: string[];
export declare const NAPI_DEFINES: string[];
export declare const STATIC_RUNTIME: string[];
export declare function upToDate(output: string, inputs: string[]): boolean;
export declare function nodeDelayImportLibrary(outDir: string): Promise<string>;
export declare function compileAndLink(options: {
  sources: string[];
  output: string;
  objDir: string;
  cflags?: string[];
  cxxflags?: string[];
  linkArgs?: string[];
}): Promise<string>;
export declare function importedDlls(file: string): string[];
