export declare function relativeImportsOf(text: string): Set<string>;
export declare function importGraph(srcDir: string): Map<string, string[]>;
export declare function cyclesOf(graph: Map<string, string[]>): string[][];
export declare function parseMap(
  readme: string,
):
  | (
      | { folder: string; allows: string[]; anything: boolean }
      | { entries: string[]; allows: string[]; anything: boolean }
    )[]
  | undefined;
export declare function checkMap(pkgDir: string, label?: string): string[];
export declare function checkCycles(pkgDir: string, label?: string): string[];
