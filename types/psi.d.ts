// psi.js ships type files that import an unpublished `psi_` module and declare a default export the
// CommonJS runtime lacks, so under `nodenext` they do not compile. This declares what src/psi uses,
// checked against the 2.0.6 runtime: module.exports is the loader function itself, and the
// dataStructure members are emscripten enum objects, not numbers.
declare module '@openmined/psi.js' {
  /** An emscripten enum value; only ever passed back to createSetupMessage. */
  export interface PsiDataStructure {
    readonly __psiDataStructure: unique symbol;
  }
  export interface PsiServer {
    createSetupMessage(
      fpr: number,
      numClientInputs: number,
      inputs: readonly string[],
      dataStructure?: PsiDataStructure,
    ): PsiServerSetup;
    processRequest(request: PsiRequest): PsiResponse;
    getPrivateKeyBytes(): Uint8Array;
    delete(): void;
  }
  export interface PsiClient {
    createRequest(inputs: readonly string[]): PsiRequest;
    getIntersection(setup: PsiServerSetup, response: PsiResponse): number[];
    getIntersectionSize(setup: PsiServerSetup, response: PsiResponse): number;
    getPrivateKeyBytes(): Uint8Array;
    delete(): void;
  }
  /** All psi.js does with a message it is given is call serializeBinary() and pass the bytes to WASM. */
  export interface ProtoMessage {
    serializeBinary(): Uint8Array;
  }
  export type PsiServerSetup = ProtoMessage;
  export type PsiRequest = ProtoMessage;
  export type PsiResponse = ProtoMessage;
  export interface PsiLibrary {
    readonly package: { readonly name: string; readonly version: string };
    readonly dataStructure: {
      readonly Raw: PsiDataStructure;
      readonly GCS: PsiDataStructure;
      readonly BloomFilter: PsiDataStructure;
    };
    readonly server: {
      createWithNewKey(revealIntersection?: boolean): PsiServer;
      createFromKey(key: Uint8Array, revealIntersection?: boolean): PsiServer;
    };
    readonly client: {
      createWithNewKey(revealIntersection?: boolean): PsiClient;
      createFromKey(key: Uint8Array, revealIntersection?: boolean): PsiClient;
    };
  }
  const loadPsi: () => Promise<PsiLibrary>;
  export = loadPsi;
}
